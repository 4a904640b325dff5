import Foundation
import LaunchBundle

/// A bundle ready to load: a folder on disk, and where it came from.
public struct ResolvedBundle: Sendable {
    /// Where the bundle came from.
    public enum Origin: Sendable, Equatable {
        /// A bundle folder, used in place.
        case folder
        /// A `.bundle` file, unpacked into the cache.
        case bundleFile
        /// A `.bundle` file downloaded from a URL, unpacked into the cache.
        case download
        /// llm-engine's container variables: the artifact and config put together in the cache.
        case containerEnvironment
    }

    /// The bundle folder.
    public var directory: BundleDirectory
    /// Where it came from.
    public var origin: Origin
    /// The cache entry, when it is in the cache; keep it while the bundle is in use.
    public var lease: BundleCache.Lease?
}

/// Turns a bundle argument (a folder, a `.bundle` file, a `file://` or `http(s)://` URL) or
/// llm-engine's container variables into a bundle folder, unpacking into the cache as needed.
public struct BundleResolver: Sendable {
    /// Where unpacked bundles go.
    public var cache: BundleCache
    /// Limits on what an archive may unpack to.
    public var limits: UnpackLimits
    /// How URLs are downloaded.
    public var downloader: BundleDownloader

    /// Makes a resolver.
    public init(cache: BundleCache, limits: UnpackLimits, downloader: BundleDownloader) {
        self.cache = cache
        self.limits = limits
        self.downloader = downloader
    }

    /// The bundle `reference` names.
    ///
    /// - Throws: ``ArchiveError`` or ``BundleError``, naming `reference`.
    public func resolve(_ reference: String) async throws -> ResolvedBundle {
        switch try BundleLocation(reference) {
        case .path(let path):
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw BundleError(.missingFile, bundle: reference, reason: "no such file or folder")
            }
            if isFolder.boolValue {
                return ResolvedBundle(directory: try BundleDirectory(path: path), origin: .folder)
            }
            return try await unpack(URL(filePath: path), bundle: reference, origin: .bundleFile)
        case .remote(let url):
            let file = try await download(url, bundle: reference)
            defer { unlink(file.path) }
            return try await unpack(file, bundle: reference, origin: .download)
        }
    }

    /// A local copy of what `reference` names, for reading without unpacking (`inspect`):
    /// the path itself, or a download that the caller removes.
    public func fetch(_ reference: String) async throws -> (file: URL, downloaded: Bool) {
        switch try BundleLocation(reference) {
        case .path(let path):
            guard FileManager.default.fileExists(atPath: path) else {
                throw BundleError(.missingFile, bundle: reference, reason: "no such file or folder")
            }
            return (URL(filePath: path), false)
        case .remote(let url):
            return (try await download(url, bundle: reference), true)
        }
    }

    /// The bundle llm-engine's container variables describe, put together in the cache:
    /// `bundle.json` made from the variables and the config file, beside the artifact.
    public func resolve(container: ContainerEnvironment) async throws -> ResolvedBundle {
        let bundle = container.bundleDescription
        let artifact: URL
        var downloaded = false
        switch try BundleLocation(container.bundleURL) {
        case .path(let path):
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder), !isFolder.boolValue else {
                throw ArchiveError(
                    .environment, bundle: bundle,
                    reason: "names no artifact file: BUNDLE_URL must point at the artifact (cloudpickle bytes or a zip)"
                )
            }
            artifact = URL(filePath: path)
        case .remote(let url):
            artifact = try await download(url, bundle: bundle)
            downloaded = true
        }
        defer { if downloaded { unlink(artifact.path) } }
        let cache = cache
        let moveArtifact = downloaded
        return try await runBlocking {
            let artifactDigest = try sha256(ofFile: artifact.path, bundle: bundle)
            let metadata = try container.metadataJSON(artifactSHA256: artifactDigest.digest)
            let checksums = BundleChecksums([
                BundleDirectory.metadataName: Data(metadata).sha256Hex,
                BundleDirectory.artifactName: artifactDigest.digest,
            ])
            let lease = try cache.acquire(key: checksums.key, bundle: bundle) { folder in
                let target = folder.appending(path: BundleDirectory.artifactName)
                if !moveArtifact || rename(artifact.path, target.path) != 0 {
                    try copy(artifact, to: target, expecting: artifactDigest.digest, bundle: bundle)
                }
                try write(metadata, to: folder.appending(path: BundleDirectory.metadataName), bundle: bundle)
                try write(
                    Data(checksums.text.utf8), to: folder.appending(path: BundleChecksums.fileName), bundle: bundle)
            }
            return ResolvedBundle(
                directory: try BundleDirectory(path: lease.folder.path), origin: .containerEnvironment, lease: lease)
        }
    }

    /// Unpacks a `.bundle` file into the cache (once, whoever asks first) and opens it.
    private func unpack(_ file: URL, bundle: String, origin: ResolvedBundle.Origin) async throws -> ResolvedBundle {
        let cache = cache
        let limits = limits
        return try await runBlocking {
            let key = try BundleFileReader.checksums(of: file, bundle: bundle).key
            let lease = try cache.acquire(key: key, bundle: bundle) { folder in
                try BundleUnpacker.unpack(file, into: folder, bundle: bundle, limits: limits)
            }
            return ResolvedBundle(directory: try BundleDirectory(path: lease.folder.path), origin: origin, lease: lease)
        }
    }

    /// Downloads `url` into the cache's downloads folder.
    private func download(_ url: URL, bundle: String) async throws -> URL {
        do {
            try FileManager.default.createDirectory(at: cache.downloads, withIntermediateDirectories: true)
        } catch {
            throw ArchiveError(.cache, bundle: bundle, reason: "cannot create \(cache.downloads.path): \(error)")
        }
        let file = cache.downloads.appending(path: "\(UUID().uuidString).part")
        _ = try await downloader.download(url, to: file, bundle: bundle)
        return file
    }
}

/// Copies `source` to `target` a chunk at a time, checking it still has the digest it had.
private func copy(_ source: URL, to target: URL, expecting digest: String, bundle: String) throws {
    let output = try FileStream.creating(target.path, bundle: bundle)
    let hasher = HashingSink(passingTo: output)
    try forEachChunk(of: try FileStream.reading(source.path, bundle: bundle)) { try hasher.write($0) }
    guard hasher.finish() == digest else {
        throw ArchiveError(
            .io, bundle: bundle, entry: BundleDirectory.artifactName, reason: "changed while it was copied")
    }
    try output.sync()
}

/// Writes a small file durably.
private func write(_ data: Data, to file: URL, bundle: String) throws {
    let output = try FileStream.creating(file.path, bundle: bundle)
    try data.withUnsafeBytes { try output.write($0) }
    try output.sync()
}
