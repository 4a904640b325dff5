import Foundation
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A worker's answered claim files, kept to hold its next staged answers instead of being
/// deleted: the hot path then neither deletes nor creates an inode.
///
/// On ext4 without a journal (common on VMs and cloud disks) a new file's inode is found by
/// walking past every inode deleted in the last minute, or five while the inode table is not yet
/// written back (fs/ext4/ialloc.c, `recently_deleted`), so deleting one file and creating another
/// per task made each file cost more the more tasks ran: without fsync, the spool's slowest
/// part (benchmarks/NOTES.md).
///
/// Spares are hidden files of the worker's claim folder (`.spare-N`), which no task file can be
/// named: recovery of a dead worker removes them as strangers, and a live worker removes its
/// own when it stops.
final class SpareFiles: Sendable {
    /// How many spares are kept; a claim answered beyond them is deleted as before.
    static let limit = 256

    private let folder: String
    private let state = Mutex<(spares: [String], next: Int)>(([], 0))

    /// Spares kept in the claim folder `folder`.
    init(folder: String) {
        self.folder = folder
    }

    /// Keeps the answered claim `path` as a spare, or deletes it when enough are kept.
    func keep(_ path: String) {
        let spare = state.withLock { state -> String? in
            guard state.spares.count < Self.limit else { return nil }
            state.next += 1
            return "\(folder)/.spare-\(state.next)"
        }
        guard let spare, rename(path, spare) == 0 else {
            unlink(path)
            return
        }
        state.withLock { $0.spares.append(spare) }
    }

    /// Writes `bytes` whole to `destination` (not durably): over a spare's old contents, cut to
    /// the new length, then renamed into place; into a new file when no spare is left.
    ///
    /// Never truncated to zero first (`O_TRUNC`): ext4's `auto_da_alloc` takes truncate-then-write
    /// for a file being replaced and starts writing it back at its close, which cost the spool
    /// with fsync more than half its throughput.
    func write(_ bytes: Data, toPath destination: String) throws(DurableWriteError) {
        guard let spare = state.withLock({ $0.spares.popLast() }) else {
            try DurableFile.write(bytes, toPath: destination, sync: false)
            return
        }
        let fd = open(spare, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            unlink(spare)
            try DurableFile.write(bytes, toPath: destination, sync: false)
            return
        }
        do throws(DurableWriteError) {
            try DurableFile.writeAll(bytes, to: fd, destination: destination)
            guard ftruncate(fd, off_t(bytes.count)) == 0 else {
                throw DurableWriteError(destination, "cannot cut its staged answer to length")
            }
        } catch {
            close(fd)
            unlink(spare)
            throw error
        }
        close(fd)
        guard rename(spare, destination) == 0 else {
            let code = errno
            unlink(spare)
            throw DurableWriteError(destination, "cannot rename its staged answer into place", errno: code)
        }
    }

    /// Deletes every spare (the worker stops).
    func removeAll() {
        let spares = state.withLock { state in
            defer { state.spares = [] }
            return state.spares
        }
        spares.forEach { unlink($0) }
    }
}
