import BundleArchive
import Foundation

/// The cached environments, `<cache>/environments/<key>/`, each with its creation log beside it
/// (`<key>.log`).
///
/// Kept by a ``BundleArchive/BundleCache`` of their own, so they follow the same rules as
/// bundles: built in a temporary folder renamed into place while holding the key's build lock
/// (workers starting at the same time wait for one build and use it; none sees half an
/// environment; a failed or killed build leaves only a temporary folder, removed by the next
/// build or `prune`), and held by a shared lock while in use, which `prune` respects.
public struct EnvironmentStore: Sendable {
    /// The environments' folder.
    public var root: URL
    private var entries: BundleCache { BundleCache(root: root) }

    /// The environments kept beside the bundle cache `cacheRoot`.
    public init(bundleCache cacheRoot: URL) {
        root = cacheRoot.appending(path: "environments", directoryHint: .isDirectory)
    }

    /// The creation log of the environment `key`: the last build's, failed or not.
    public func logFile(for key: String) -> URL { root.appending(path: "\(key).log") }

    /// An environment in use.
    public struct Lease: Sendable {
        /// Its folder (a venv).
        public var folder: URL { entry.folder }
        /// Whether this process built it (false: it was found).
        public var built: Bool { entry.unpacked }
        /// Its key.
        public let key: String
        let entry: BundleCache.Lease
    }

    /// The environment for `spec`, built with `builder` unless it is there already; holds it
    /// (so `prune` leaves it) while the lease lives.
    ///
    /// - Important: Blocks while it builds, or waits for another process's build: call it off
    ///   Swift's cooperative pool.
    /// - Throws: ``EnvironmentError``: the build's, with its log's last lines, or the cache's.
    public func prepare(_ spec: EnvironmentSpec, builder: EnvironmentBuilder, bundle: String) throws(EnvironmentError)
        -> Lease
    {
        let key = spec.key
        let logFile = logFile(for: key)
        do {
            let entry = try entries.acquire(key: key, bundle: bundle) { folder in
                try builder.build(spec, into: folder, log: CreationLog(file: logFile), bundle: bundle)
            }
            return Lease(key: key, entry: entry)
        } catch let error as EnvironmentError {
            throw error
        } catch {
            throw EnvironmentError(.cache, bundle: bundle, reason: "the environments' folder \(root.path): \(error)")
        }
    }

    /// One cached environment, as `cache list` shows it.
    public struct Entry: Sendable {
        /// Its key, folder, size, last use and whether a running process holds it.
        public var cached: BundleCache.Entry
        /// What it holds (its requirements file).
        public var requirements: [String]
    }

    /// The cached environments, most recently used first.
    public func list() throws(EnvironmentError) -> [Entry] {
        do {
            return try entries.list().map { cached in
                let file = cached.folder.appending(path: EnvironmentBuilder.requirementsFile)
                let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
                return Entry(cached: cached, requirements: text.split(separator: "\n").map(String.init))
            }
        } catch {
            throw EnvironmentError(.cache, bundle: root.path, reason: "cannot list the environments: \(error)")
        }
    }

    /// Removes environments not used since `cutoff` (all when nil) that no running process
    /// holds, with their logs; the logs of failed builds older than `cutoff`; and the leftovers
    /// of killed builds.
    public func prune(unusedSince cutoff: Date?) throws(EnvironmentError) -> BundleCache.PruneReport {
        guard FileManager.default.fileExists(atPath: root.path) else { return BundleCache.PruneReport() }
        var report: BundleCache.PruneReport
        do {
            report = try entries.prune(unusedSince: cutoff)
        } catch {
            throw EnvironmentError(.cache, bundle: root.path, reason: "cannot prune the environments: \(error)")
        }
        for entry in report.removed { try? FileManager.default.removeItem(at: logFile(for: entry.key)) }
        for name in (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? [] where name.hasSuffix(".log")
        {
            let key = String(name.dropLast(4))
            let log = root.appending(path: name)
            let modified = (try? FileManager.default.attributesOfItem(atPath: log.path))?[.modificationDate] as? Date
            guard !FileManager.default.fileExists(atPath: entries.folder(for: key).path),
                cutoff.map({ (modified ?? .distantPast) < $0 }) ?? true,
                !entries.isBeingFilled(key: key)
            else { continue }
            try? FileManager.default.removeItem(at: log)
            report.leftovers += 1
        }
        return report
    }
}
