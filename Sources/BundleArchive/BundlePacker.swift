import Foundation
import LaunchBundle

/// What packing wrote.
public struct PackedBundle: Sendable {
    /// The `.bundle` file.
    public var file: URL
    /// The checksums it records; their ``BundleChecksums/key`` is its cache key.
    public var checksums: BundleChecksums
    /// The artifact's size.
    public var artifactSize: UInt64
    /// The `.bundle` file's size.
    public var compressedSize: UInt64
}

/// Packs a bundle folder into one `.bundle` file: a zstd-compressed tar stream of
/// `SHA256SUMS`, `bundle.json` and `artifact`, in that order.
///
/// The artifact is read twice, a chunk at a time: once to hash it (so `SHA256SUMS` can come
/// first and a reader knows the bundle's key before the artifact), once to write it, hashed
/// again so a file that changes meanwhile is an error, not a wrong archive. The output is
/// written to a temporary name beside it and renamed into place once durable.
public enum BundlePacker {
    /// Packs `directory` into `output`, replacing any file there.
    ///
    /// - Parameter level: zstd's compression level (1 fastest ... 19 smallest).
    /// - Throws: ``ArchiveError``; also when `bundle.json` records an `artifact_sha256` that
    ///   the artifact does not have.
    public static func pack(_ directory: BundleDirectory, to output: URL, level: Int32 = 3) throws -> PackedBundle {
        let bundle = directory.folder.path
        let metadataFile = directory.folder.appending(path: BundleDirectory.metadataName)
        let metadata = try sha256(ofFile: metadataFile.path, bundle: bundle)
        let artifact = try sha256(ofFile: directory.artifact.path, bundle: bundle)
        if let recorded = directory.metadata.artifactSHA256, recorded.lowercased() != artifact.digest {
            throw ArchiveError(
                .checksumMismatch, bundle: bundle, entry: BundleDirectory.artifactName,
                reason: "has SHA-256 \(artifact.digest), but bundle.json records artifact_sha256 \(recorded)")
        }
        let checksums = BundleChecksums([
            BundleDirectory.metadataName: metadata.digest, BundleDirectory.artifactName: artifact.digest,
        ])
        let temporary = output.deletingLastPathComponent().appending(
            path: ".\(output.lastPathComponent).\(UUID().uuidString)")
        do {
            let file = try FileStream.creating(temporary.path, bundle: bundle)
            let compressor = ZstdCompressor(level: level, into: file, bundle: bundle)
            let tar = TarWriter(into: compressor)
            let sums = Array(checksums.text.utf8)
            try tar.append(TarEntry(name: BundleChecksums.fileName, kind: .file, size: UInt64(sums.count))) { sink in
                try sums.withUnsafeBytes { try sink.write($0) }
            }
            for (name, expected) in [
                (BundleDirectory.metadataName, metadata), (BundleDirectory.artifactName, artifact),
            ] {
                try tar.append(TarEntry(name: name, kind: .file, size: expected.size)) { sink in
                    let hasher = HashingSink(passingTo: sink)
                    let source = try FileStream.reading(directory.folder.appending(path: name).path, bundle: bundle)
                    try forEachChunk(of: source) { try hasher.write($0) }
                    guard hasher.count == expected.size, hasher.finish() == expected.digest else {
                        throw ArchiveError(
                            .io, bundle: bundle, entry: name, reason: "changed while it was being packed")
                    }
                }
            }
            try tar.finish()
            try compressor.finish()
            try file.sync()
            let compressedSize = try file.size()
            guard rename(temporary.path, output.path) == 0 else {
                throw ArchiveError(
                    .io, bundle: bundle, reason: "cannot write \(output.path): \(String(cString: strerror(errno)))")
            }
            return PackedBundle(
                file: output, checksums: checksums, artifactSize: artifact.size, compressedSize: compressedSize)
        } catch {
            unlink(temporary.path)
            throw error
        }
    }
}
