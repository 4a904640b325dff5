import Foundation

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
    private let descriptor: Int32

    /// Registers a new worker in `layout`.
    init(layout: SpoolLayout) throws(SpoolError) {
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        workerID = "\(Self.hostname)-\(getpid())-\(random)"
        lockFile = layout.workers.appending(path: "\(workerID).lock")
        descriptor = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SpoolError.system("cannot create the worker lock", lockFile.path) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            throw SpoolError.system("cannot lock the worker lock", lockFile.path)
        }
        do {
            try FileManager.default.createDirectory(
                at: layout.claimed.appending(path: workerID), withIntermediateDirectories: true)
        } catch {
            throw SpoolError("cannot make this worker's claim folder: \(error.localizedDescription)")
        }
    }

    /// Renews the lease: the lock file's mtime becomes now.
    func renew() {
        _ = futimens(descriptor, nil)
    }

    /// Ends the registration: removes the claim folder if empty and the lock file, then
    /// drops the lock. Claims and staged answers left behind stay for recovery.
    func end(layout: SpoolLayout) {
        let claims = layout.claimed.appending(path: workerID)
        if (try? FileManager.default.contentsOfDirectory(atPath: claims.path))?.isEmpty == true {
            rmdir(claims.path)
            unlink(lockFile.path)
        }
        close(descriptor)
    }

    /// This host's name, as worker ids begin.
    static let hostname: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map(UInt8.init(bitPattern:)), as: UTF8.self)
        return name.replacingOccurrences(of: "-", with: "_")
    }()
}
