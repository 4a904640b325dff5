import Foundation
import LaunchBundle

#if canImport(Glibc)
    import Glibc
#endif

/// The content-addressed cache of unpacked bundles: `<root>/<key>/` holds `bundle.json`,
/// `artifact` and `SHA256SUMS`, where the key is ``BundleChecksums/key``. Bundle environments
/// are kept by a cache of their own with the same rules (any folder under a 64-hex-digit key).
///
/// A bundle is unpacked into `<root>/.tmp-<key>-<random>/` and renamed into place only once
/// complete and checked, so no reader ever sees half a bundle. Two lock files per key
/// (`flock`, released even when a process is killed) coordinate processes:
/// - `.locks/<key>.unpack.lock`, exclusive while one process unpacks, so workers starting at
///   the same time unpack once and the others wait, then use its result;
/// - `.locks/<key>.lock`, shared by every process using the entry for as long as it runs, so
///   `prune` (which needs it exclusively) never removes a bundle in use. Its modification time
///   is the entry's last use.
public struct BundleCache: Sendable {
    /// The cache folder.
    public var root: URL

    /// The variable that names the cache folder.
    public static let variable = "LAUNCH_WORKER_CACHE_DIR"

    /// Makes a cache in `root` (created on first use).
    public init(root: URL) {
        self.root = root
    }

    /// `$LAUNCH_WORKER_CACHE_DIR`, else `$XDG_CACHE_HOME` or `~/.cache`, then `launch-worker/bundles`.
    public static func defaultRoot(environment: [String: String], home: URL) -> URL {
        if let explicit = environment[variable], !explicit.isEmpty {
            return URL(filePath: explicit, directoryHint: .isDirectory)
        }
        let cache =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(filePath: $0) }
            ?? home.appending(path: ".cache")
        return cache.appending(path: "launch-worker/bundles")
    }

    /// Where downloads are written while they arrive.
    public var downloads: URL { root.appending(path: ".downloads") }
    private var locks: URL { root.appending(path: ".locks") }

    /// The folder of the entry `key`.
    public func folder(for key: String) -> URL { root.appending(path: key) }

    /// An entry in use: its folder, and the shared lock that keeps `prune` away while this
    /// value lives.
    public struct Lease: Sendable {
        /// The bundle folder.
        public let folder: URL
        /// Whether this process unpacked it (false: it was already there).
        public let unpacked: Bool
        let lock: FileLock
    }

    /// The entry for `key`, made with `fill` first if it is not there yet.
    ///
    /// `fill` is given an empty temporary folder and must put the whole bundle in it; the
    /// folder is renamed into place when `fill` returns, and removed when it throws. When
    /// another process is filling the same key, this waits for it and uses its result.
    ///
    /// - Important: Blocks while another process unpacks: call it off Swift's cooperative pool.
    public func acquire(key: String, bundle: String, fill: (URL) throws -> Void) throws -> Lease {
        guard BundleChecksums.isKey(key) else {
            throw ArchiveError(.cache, bundle: bundle, reason: "'\(key)' is not a bundle key (64 hex digits)")
        }
        try makeFolders(bundle: bundle)
        let folder = folder(for: key)
        let use = try FileLock(path: locks.appending(path: "\(key).lock").path)
        try use.lockShared()
        use.touch()
        if FileManager.default.fileExists(atPath: folder.path) {
            return Lease(folder: folder, unpacked: false, lock: use)
        }
        let unpacking = try FileLock(path: locks.appending(path: "\(key).unpack.lock").path)
        try unpacking.lockExclusive()
        defer { unpacking.unlock() }
        if FileManager.default.fileExists(atPath: folder.path) {
            return Lease(folder: folder, unpacked: false, lock: use)
        }
        removeTemporaries(of: key)
        let temporary = root.appending(path: ".tmp-\(key)-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: false)
            try fill(temporary)
            syncFolder(temporary)
            guard rename(temporary.path, folder.path) == 0 else {
                throw ArchiveError(
                    .cache, bundle: bundle,
                    reason: "cannot move the unpacked bundle into \(folder.path): \(String(cString: strerror(errno)))")
            }
            syncFolder(root)
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        return Lease(folder: folder, unpacked: true, lock: use)
    }

    /// One cached bundle, as `cache list` shows it.
    public struct Entry: Sendable {
        /// Its key (the SHA-256 of its `SHA256SUMS`).
        public var key: String
        /// Its folder.
        public var folder: URL
        /// `bundle_name` and `packaging_type` from its `bundle.json`, when it parses.
        public var bundleName: String?
        /// `packaging_type`.
        public var packagingType: String?
        /// The bytes its files take.
        public var size: UInt64
        /// When a worker last used it.
        public var lastUsed: Date
        /// Whether a running process holds it.
        public var inUse: Bool
    }

    /// The cached bundles, most recently used first.
    public func list() throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: root.path) else { return [] }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        var entries: [Entry] = []
        for key in names where BundleChecksums.isKey(key) {
            let folder = folder(for: key)
            let metadata = try? BundleDirectory(path: folder.path).metadata
            let size = Self.size(of: folder)
            let lockPath = locks.appending(path: "\(key).lock").path
            let lastUsed =
                (try? FileManager.default.attributesOfItem(atPath: lockPath))?[.modificationDate] as? Date
                ?? Date(timeIntervalSince1970: 0)
            var inUse = false
            if let lock = try? FileLock(path: lockPath) {
                inUse = !((try? lock.tryLockExclusive()) ?? false)
                lock.unlock()
            }
            entries.append(
                Entry(
                    key: key, folder: folder, bundleName: metadata?.bundleName,
                    packagingType: metadata?.packagingType.rawValue, size: size, lastUsed: lastUsed, inUse: inUse))
        }
        return entries.sorted { $0.lastUsed > $1.lastUsed }
    }

    /// The bytes the files under `folder` take, links not followed.
    private static func size(of folder: URL) -> UInt64 {
        var size: UInt64 = 0
        let keys: [URLResourceKey] = [.fileSizeKey, .isRegularFileKey]
        let files = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: keys)
        while let file = files?.nextObject() as? URL {
            guard let values = try? file.resourceValues(forKeys: Set(keys)), values.isRegularFile == true else {
                continue
            }
            size += UInt64(values.fileSize ?? 0)
        }
        return size
    }

    /// Whether a process is filling the entry `key` now (holds its build lock).
    public func isBeingFilled(key: String) -> Bool {
        guard let lock = try? FileLock(path: locks.appending(path: "\(key).unpack.lock").path) else { return false }
        defer { lock.unlock() }
        return (try? lock.tryLockExclusive()) != true
    }

    /// What `prune` did.
    public struct PruneReport: Sendable {
        /// An empty report.
        public init() {}

        /// The entries removed.
        public var removed: [Entry] = []
        /// The entries kept because a running process holds them.
        public var inUse: [Entry] = []
        /// Leftovers of processes that died while unpacking or downloading, removed.
        public var leftovers = 0
    }

    /// Removes cached bundles not used since `cutoff` (all of them when nil), except those in
    /// use, and the leftovers of processes that died mid-unpack or mid-download.
    public func prune(unusedSince cutoff: Date?) throws -> PruneReport {
        var report = PruneReport()
        for entry in try list() where cutoff.map({ entry.lastUsed < $0 }) ?? true {
            let lock = try FileLock(path: locks.appending(path: "\(entry.key).lock").path)
            guard try lock.tryLockExclusive() else {
                report.inUse.append(entry)
                continue
            }
            defer { lock.unlock() }
            // Renamed away first, so no reader ever finds a half-deleted folder under its key.
            let trash = root.appending(path: ".trash-\(UUID().uuidString)")
            if rename(entry.folder.path, trash.path) == 0 {
                try? FileManager.default.removeItem(at: trash)
                report.removed.append(entry)
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] {
            if name.hasPrefix(".trash-") {
                try? FileManager.default.removeItem(at: root.appending(path: name))
                report.leftovers += 1
            } else if name.hasPrefix(".tmp-"), let key = name.split(separator: "-").dropFirst().first {
                report.leftovers += removeTemporaries(of: String(key), onlyIfUnlocked: true)
            }
        }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: downloads.path)) ?? [] {
            let file = downloads.appending(path: name)
            if let lock = try? FileLock(path: file.path), (try? lock.tryLockExclusive()) == true {
                try? FileManager.default.removeItem(at: file)
                report.leftovers += 1
            }
        }
        return report
    }

    /// Removes `.tmp-<key>-*` folders; with `onlyIfUnlocked`, only when no process is unpacking `key`.
    @discardableResult
    private func removeTemporaries(of key: String, onlyIfUnlocked: Bool = false) -> Int {
        var unpacking: FileLock?
        if onlyIfUnlocked {
            guard BundleChecksums.isKey(key),
                let lock = try? FileLock(path: locks.appending(path: "\(key).unpack.lock").path),
                (try? lock.tryLockExclusive()) == true
            else { return 0 }
            unpacking = lock
        }
        defer { unpacking?.unlock() }
        var removed = 0
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        where name.hasPrefix(".tmp-\(key)-") {
            try? FileManager.default.removeItem(at: root.appending(path: name))
            removed += 1
        }
        return removed
    }

    private func makeFolders(bundle: String) throws {
        do {
            for folder in [root, locks, downloads] {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            }
        } catch {
            throw ArchiveError(.cache, bundle: bundle, reason: "cannot create the cache folder \(root.path): \(error)")
        }
    }

    private func syncFolder(_ folder: URL) {
        let descriptor = open(folder.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        fsync(descriptor)
        close(descriptor)
    }
}
