import ArgumentParser
import BundleArchive
import BundleEnvironment
import Foundation
import LogOutput
import Logging

/// Options every command that opens a bundle shares: where the cache is, and the limits that
/// keep an untrusted archive or download from taking the host down.
struct BundleSourceOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Where .bundle files and URLs are unpacked (default: $\(BundleCache.variable), else $XDG_CACHE_HOME or ~/.cache, then launch-worker/bundles).",
            valueName: "DIR"))
    var cacheDir: String?

    @Option(
        help: ArgumentHelp(
            "The most a .bundle file, or a zip bundle's code, may unpack to (K, M, G, T suffixes).", valueName: "SIZE"))
    var maxUnpackedSize = ByteSize(UnpackLimits.standard.maxUnpackedSize)

    @Option(help: ArgumentHelp("The most a bundle downloaded from a URL may be.", valueName: "SIZE"))
    var maxDownloadSize = ByteSize(32 << 30)

    @Option(
        help: ArgumentHelp(
            "How long a bundle's server may take to answer, or fall silent mid-download, before the download fails.",
            valueName: "SECONDS"))
    var downloadTimeout: Double = 60

    func validate() throws {
        guard downloadTimeout > 0 else { throw ValidationError("--download-timeout must be positive") }
    }

    /// The cache these options name.
    var cache: BundleCache {
        if let cacheDir { return BundleCache(root: URL(filePath: cacheDir, directoryHint: .isDirectory)) }
        return BundleCache(
            root: BundleCache.defaultRoot(
                environment: ProcessInfo.processInfo.environment,
                home: FileManager.default.homeDirectoryForCurrentUser))
    }

    /// The bundle environments kept beside the cache.
    var environments: EnvironmentStore { EnvironmentStore(bundleCache: cache.root) }

    /// A resolver with these options, logging download progress.
    func makeResolver(logger: Logger) -> BundleResolver {
        let downloader = BundleDownloader(maxSize: maxDownloadSize.bytes, silenceLimit: .seconds(downloadTimeout)) {
            progress in
            var metadata: Logger.Metadata = ["received": "\(ByteCount.format(progress.received))"]
            if let expected = progress.expected {
                metadata["of"] = "\(ByteCount.format(expected))"
                metadata["percent"] = "\(expected == 0 ? 100 : progress.received * 100 / expected)"
            }
            logger.info(progress.done ? "downloaded" : "downloading", metadata: metadata)
        }
        return BundleResolver(
            cache: cache, limits: UnpackLimits(maxUnpackedSize: maxUnpackedSize.bytes), downloader: downloader)
    }
}

/// A byte count on the command line: `1048576`, `512M`, `2G`.
struct ByteSize: ExpressibleByArgument, CustomStringConvertible {
    var bytes: UInt64

    init(_ bytes: UInt64) {
        self.bytes = bytes
    }

    init?(argument: String) {
        guard let bytes = ByteCount.parse(argument) else { return nil }
        self.bytes = bytes
    }

    /// The shortest form that parses back: `32G`, `1536K`, or plain bytes.
    var description: String {
        for (suffix, shift) in [("T", 40), ("G", 30), ("M", 20), ("K", 10)]
        where bytes != 0 && bytes % (1 << UInt64(shift)) == 0 {
            return "\(bytes >> UInt64(shift))\(suffix)"
        }
        return String(bytes)
    }

    var defaultValueDescription: String { description }
}

/// A logger to stderr at `level`. With `gathering` (a worker serving tasks, which logs a line
/// for each), routine lines (info and below) leave together about every 10 ms
/// (``LogLineWriter``); otherwise each line is written before the call that logs it returns.
func stderrLogger(level: Logger.Level, gathering: Bool = false) -> Logger {
    let writer = gathering ? LogLineWriter.standardError : LogLineWriter(fd: STDERR_FILENO, limit: 0)
    var logger = Logger(label: "launch-worker") { label in
        var handler = LogLineHandler(label: label, writer: writer)
        handler.logLevel = level
        return handler
    }
    logger.logLevel = level
    return logger
}
