import Foundation
import Logging
import Synchronization
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A folder's identity: its device and inode. A folder deleted and made again under the same
/// path has another.
struct FolderIdentity: Sendable, Equatable {
    let device: UInt64
    let inode: UInt64

    /// The identity of the folder at `path`, or the system's reason why it has none (it is gone).
    static func of(_ path: String) -> Result<FolderIdentity, SpoolError> {
        var info = stat()
        guard stat(path, &info) == 0 else { return .failure(.system("cannot look at", path)) }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return .failure(SpoolError("\(path) is not a folder")) }
        return .success(FolderIdentity(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)))
    }
}

/// Checks, at every look at `incoming/`, that the spool folder is still the one this worker
/// registered in, and makes its folders and registration again when it is not.
///
/// A spool folder deleted while the worker serves it takes the worker's lock file and claim
/// folder with it: every claim would then fail as if another worker had won it, and the worker
/// would serve nothing while it looked healthy. The folder's identity (device and inode), taken
/// at registration, tells a deleted folder (gone) and one made again by a producer (another
/// identity) from the one the worker registered in.
final class SpoolFolderWatch: Sendable {
    private let layout: SpoolLayout
    private let lease: WorkerLease
    private let logger: Logger
    private let registered: Mutex<FolderIdentity>
    private let rootPath: String
    private let incomingPath: String
    private let claimsPath: String

    /// Watches the spool at `layout`, in which `lease` has just registered.
    init(layout: SpoolLayout, lease: WorkerLease, logger: Logger) throws(SpoolError) {
        self.layout = layout
        self.lease = lease
        self.logger = logger
        rootPath = layout.root.path
        incomingPath = layout.incoming.path
        claimsPath = layout.claimed.appending(path: lease.workerID).path
        registered = Mutex(try FolderIdentity.of(rootPath).get())
    }

    /// Returns when the spool can be served: the folder this worker registered in, with its
    /// `incoming/` and this worker's claim folder; or a folder made again at its path, once this
    /// worker has made the folders it needs there and registered again (logged as an error: what
    /// the worker was running in the old folder is lost with it).
    ///
    /// - Throws: ``QueueUnavailableError`` while there is no folder at the spool's path, or the
    ///   worker cannot make its folders or registration there.
    func check() throws(QueueUnavailableError) {
        let identity: FolderIdentity
        switch FolderIdentity.of(rootPath) {
        case .failure(let error):
            throw QueueUnavailableError(
                "the spool folder is gone (\(error)): it was deleted while the worker served it; "
                    + "the worker serves it again once a producer or an operator makes it again")
        case .success(let found):
            identity = found
        }
        let same = registered.withLock { $0 == identity }
        if same, access(incomingPath, F_OK) == 0, access(claimsPath, F_OK) == 0 { return }
        let message: Logger.Message =
            same
            ? "folders of the spool were deleted while the worker served it: making them and registering again"
            : """
            the spool folder was deleted and made again while the worker served it: registering in the new one; \
            the tasks it was running in the old one are lost with it
            """
        logger.error(
            message,
            metadata: ["queue": "\(rootPath)", "worker_id": "\(lease.workerID)"])
        do {
            try layout.create()
            try lease.restore(layout: layout)
        } catch {
            throw QueueUnavailableError("the worker cannot register in the spool folder \(rootPath): \(error)")
        }
        registered.withLock { $0 = identity }
    }
}
