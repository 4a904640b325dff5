import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An open lock file and the `flock` held on it, released when closed or when the process ends
/// (even by `kill -9`), so a crashed worker never leaves a lock behind.
public final class FileLock: @unchecked Sendable {
    // @unchecked: the only state is a file descriptor set once in init; flock calls on it are
    // thread-safe system calls.
    private let descriptor: Int32
    /// The lock file.
    public let path: String

    /// Opens (creating) the lock file at `path`, holding no lock yet.
    public init(path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw ArchiveError(
                .cache, bundle: path, reason: "cannot open the lock file: \(String(cString: strerror(errno)))")
        }
        self.descriptor = descriptor
        self.path = path
    }

    deinit { close(descriptor) }

    /// Waits for a shared lock (many holders at once).
    public func lockShared() throws { try lock(LOCK_SH) }

    /// Waits for the exclusive lock.
    public func lockExclusive() throws { try lock(LOCK_EX) }

    /// Takes the exclusive lock if no one holds any lock; false otherwise.
    public func tryLockExclusive() throws -> Bool {
        if flock(descriptor, LOCK_EX | LOCK_NB) == 0 { return true }
        if errno == EWOULDBLOCK { return false }
        throw failure()
    }

    /// Releases whatever lock is held.
    public func unlock() {
        flock(descriptor, LOCK_UN)
    }

    /// Sets the lock file's modification time to now (the cache's "last used").
    public func touch() {
        futimens(descriptor, nil)
    }

    private func lock(_ operation: Int32) throws {
        while flock(descriptor, operation) != 0 {
            if errno != EINTR { throw failure() }
        }
    }

    private func failure() -> ArchiveError {
        ArchiveError(.cache, bundle: path, reason: "cannot lock: \(String(cString: strerror(errno)))")
    }
}
