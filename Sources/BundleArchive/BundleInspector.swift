import Foundation
import LaunchBundle

/// What `inspect` found in a bundle folder or `.bundle` file.
public struct BundleInspection: Sendable {
    /// Whether the checksums the bundle records match its contents.
    public enum ChecksumStatus: Sendable, Equatable {
        /// Every recorded checksum matches (`SHA256SUMS`, or `artifact_sha256` in `bundle.json`).
        case verified(String)
        /// The bundle records none.
        case notRecorded
        /// One does not match: the error says which.
        case mismatch(String)
    }

    /// `folder` or `.bundle file`.
    public var form: String
    /// Its `bundle.json`, parsed and checked.
    public var metadata: BundleMetadata
    /// `bundle.json`'s size.
    public var metadataSize: UInt64
    /// The artifact's size.
    public var artifactSize: UInt64
    /// The artifact's SHA-256.
    public var artifactSHA256: String?
    /// The `.bundle` file's own size.
    public var compressedSize: UInt64?
    /// The checksums' status.
    public var checksums: ChecksumStatus
    /// The key it has, or would have, in the cache.
    public var cacheKey: String?
}

/// Reads a bundle folder or `.bundle` file without unpacking it: metadata, sizes, checksums.
public enum BundleInspector {
    /// Inspects the folder or `.bundle` file at `path`.
    ///
    /// - Throws: ``ArchiveError`` or ``BundleError`` for what cannot be read at all (an unsafe
    ///   or truncated archive, a bad `bundle.json`); a checksum mismatch is reported, not thrown.
    public static func inspect(_ path: URL, bundle: String, limits: UnpackLimits) throws -> BundleInspection {
        var isFolder: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: path.path, isDirectory: &isFolder)
        return try isFolder.boolValue
            ? inspectFolder(path, bundle: bundle) : inspectFile(path, bundle: bundle, limits: limits)
    }

    private static func inspectFolder(_ folder: URL, bundle: String) throws -> BundleInspection {
        let directory = try BundleDirectory(path: folder.path)
        let metadataFile = folder.appending(path: BundleDirectory.metadataName)
        let metadata = try sha256(ofFile: metadataFile.path, bundle: bundle)
        let artifact = try sha256(ofFile: directory.artifact.path, bundle: bundle)
        let actual = BundleChecksums([
            BundleDirectory.metadataName: metadata.digest, BundleDirectory.artifactName: artifact.digest,
        ])
        var status = BundleInspection.ChecksumStatus.notRecorded
        if let text = try? String(contentsOf: folder.appending(path: BundleChecksums.fileName), encoding: .utf8) {
            let recorded = try BundleChecksums(text: text, bundle: bundle)
            let wrong = actual.digests.keys.sorted().filter { recorded.digests[$0] != actual.digests[$0] }
            status =
                wrong.isEmpty
                ? .verified("SHA256SUMS") : .mismatch("\(wrong.joined(separator: " and ")) differ from SHA256SUMS")
        } else if let recorded = directory.metadata.artifactSHA256 {
            status =
                recorded.lowercased() == artifact.digest
                ? .verified("artifact_sha256 in bundle.json")
                : .mismatch("artifact has SHA-256 \(artifact.digest), but bundle.json records \(recorded)")
        }
        return BundleInspection(
            form: "folder", metadata: directory.metadata, metadataSize: metadata.size, artifactSize: artifact.size,
            artifactSHA256: artifact.digest, compressedSize: nil, checksums: status, cacheKey: actual.key)
    }

    private static func inspectFile(_ file: URL, bundle: String, limits: UnpackLimits) throws -> BundleInspection {
        let metadataSink = MemorySink(limit: 16 << 20)
        let artifactSink = MemorySink(limit: 0)
        var status: BundleInspection.ChecksumStatus
        var summary: BundleFileSummary?
        do {
            summary = try BundleFileReader.read(file, bundle: bundle, limits: limits) { name in
                name == BundleDirectory.metadataName ? metadataSink : artifactSink
            }
            status = .verified("SHA256SUMS")
        } catch let error as ArchiveError where error.code == .checksumMismatch {
            status = .mismatch(error.description)
        }
        guard metadataSink.count > 0 else {
            throw ArchiveError(
                .unexpectedEntry, bundle: bundle, entry: BundleDirectory.metadataName, reason: "is empty")
        }
        let metadata = try BundleMetadata(json: Data(metadataSink.bytes), bundle: bundle)
        let checksums = try summary?.checksums ?? BundleFileReader.checksums(of: file, bundle: bundle)
        return BundleInspection(
            form: ".bundle file", metadata: metadata, metadataSize: metadataSink.count,
            artifactSize: artifactSink.count,
            artifactSHA256: checksums.digests[BundleDirectory.artifactName],
            compressedSize: try FileStream.reading(file.path, bundle: bundle).size(), checksums: status,
            cacheKey: checksums.key)
    }
}

/// Keeps the first `limit` bytes written to it and counts them all.
private final class MemorySink: ByteSink {
    private let limit: Int
    private(set) var bytes: [UInt8] = []
    private(set) var count: UInt64 = 0

    init(limit: Int) {
        self.limit = limit
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        count += UInt64(bytes.count)
        let room = limit - self.bytes.count
        if room > 0 { self.bytes += bytes.prefix(room) }
    }
}
