import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A worker's registration in a spool: `workers/<worker_id>.lock`, held with `flock` for the
/// worker's life (the kernel drops it when the process dies, even by kill -9), and touched
/// regularly so that workers on other hosts of a shared file system can see the lease.
final class WorkerLease: Sendable {
    /// `<hostname>-<pid>-<random>`.
    let workerID: String
    let lockFile: URL
    /// The locked lock file; replaced by ``restore(layout:)``.
    private let descriptor: Mutex<Int32>

    /// Registers a new worker in `layout`.
    init(layout: SpoolLayout) throws(SpoolError) {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        workerID = "\(Self.hostname)-\(getpid())-\(random)"
        lockFile = layout.workers.appending(path: "\(workerID).lock")
        descriptor = Mutex(try Self.lock(lockFile))
        try makeClaimFolder(layout: layout)
    }

    /// Opens and locks `lockFile`.
    private static func lock(_ lockFile: URL) throws(SpoolError) -> Int32 {
        let descriptor = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SpoolError.system("cannot create the worker lock", lockFile.path) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let error = SpoolError.system("cannot lock the worker lock", lockFile.path)
            close(descriptor)
            throw error
        }
        return descriptor
    }

    private func makeClaimFolder(layout: SpoolLayout) throws(SpoolError) {
        do {
            try FileManager.default.createDirectory(
                at: layout.claimed.appending(path: workerID), withIntermediateDirectories: true)
        } catch {
            throw SpoolError("cannot make this worker's claim folder: \(error.localizedDescription)")
        }
    }

    /// Registers again under the same worker id after the registration's files were deleted (the
    /// spool folder deleted and made again): a new lock file, locked, unless the one at the lock
    /// file's path is still the one this worker holds, and the claim folder.
    func restore(layout: SpoolLayout) throws(SpoolError) {
        try descriptor.withLock { descriptor throws(SpoolError) in
            var held = stat()
            var named = stat()
            let stillHeld =
                fstat(descriptor, &held) == 0 && stat(lockFile.path, &named) == 0
                && held.st_dev == named.st_dev && held.st_ino == named.st_ino
            guard !stillHeld else { return }
            let replacement = try Self.lock(lockFile)
            close(descriptor)
            descriptor = replacement
        }
        try makeClaimFolder(layout: layout)
    }

    /// Renews the lease: the lock file's mtime becomes now.
    func renew() {
        descriptor.withLock { _ = futimens($0, nil) }
    }

    /// Ends the registration: removes the claim folder if empty and the lock file, then
    /// drops the lock. Claims and staged answers left behind stay for recovery.
    func end(layout: SpoolLayout) {
        let claims = layout.claimed.appending(path: workerID)
        if (try? FileManager.default.contentsOfDirectory(atPath: claims.path))?.isEmpty == true {
            rmdir(claims.path)
            unlink(lockFile.path)
        }
        descriptor.withLock { _ = close($0) }
    }

    /// This host's name, as worker ids begin.
    static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
        return name.replacingOccurrences(of: "-", with: "_")
    }()
}
