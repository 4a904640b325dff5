import Foundation
import LaunchBundle

/// What reading a whole `.bundle` stream found.
public struct BundleFileSummary: Sendable {
    /// The checksums the file records (its `SHA256SUMS` entry), all verified.
    public var checksums: BundleChecksums
    /// Each entry's unpacked size, by name.
    public var sizes: [String: UInt64]
    /// The `.bundle` file's own (compressed) size.
    public var compressedSize: UInt64
}

/// Limits that keep an untrusted archive from taking the host down.
public struct UnpackLimits: Sendable {
    /// The most bytes all entries together may unpack to (a decompression bomb stops here).
    public var maxUnpackedSize: UInt64

    /// The default: 32 GiB.
    public static let standard = UnpackLimits(maxUnpackedSize: 32 << 30)

    /// Makes limits.
    public init(maxUnpackedSize: UInt64) {
        self.maxUnpackedSize = maxUnpackedSize
    }
}

/// Reads `.bundle` files: a zstd-compressed tar stream whose entries are exactly
/// `SHA256SUMS` (first), `bundle.json` and `artifact`.
///
/// Every entry is checked before a byte of it is written (names, types, duplicates, the size
/// limit), and hashed as it streams; a mismatch with `SHA256SUMS` is an error. Memory stays
/// flat whatever the artifact's size.
public enum BundleFileReader {
    /// The entries a `.bundle` holds besides `SHA256SUMS`.
    public static let payloadNames: Set<String> = [BundleDirectory.metadataName, BundleDirectory.artifactName]

    /// Reads only the first entry, `SHA256SUMS`, for the bundle's key.
    public static func checksums(of file: URL, bundle: String) throws -> BundleChecksums {
        let reader = try tarReader(file, bundle: bundle)
        return try readChecksums(reader, bundle: bundle)
    }

    /// Reads the whole stream, writing each entry to the sink `open` gives for its name
    /// (or only verifying it when `open` is nil).
    ///
    /// - Throws: ``ArchiveError`` naming the bundle and the entry at fault.
    public static func read(
        _ file: URL, bundle: String, limits: UnpackLimits, open: ((String) throws -> ByteSink)? = nil
    ) throws -> BundleFileSummary {
        let source = try FileStream.reading(file.path, bundle: bundle)
        let compressedSize = try source.size()
        let reader = TarReader(from: ZstdDecompressor(from: source, bundle: bundle), bundle: bundle)
        let checksums = try readChecksums(reader, bundle: bundle)
        var sizes: [String: UInt64] = [BundleChecksums.fileName: UInt64(checksums.text.utf8.count)]
        var total = sizes[BundleChecksums.fileName]!
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        while let entry = try reader.next() {
            let name = try payloadName(entry, bundle: bundle)
            guard sizes[name] == nil else {
                throw ArchiveError(.duplicateEntry, bundle: bundle, entry: entry.name, reason: "appears twice")
            }
            total += entry.size
            guard total <= limits.maxUnpackedSize else {
                throw ArchiveError(
                    .tooLarge, bundle: bundle, entry: entry.name,
                    reason: """
                        would make the unpacked bundle \(ByteCount.format(total)), over the limit of \
                        \(ByteCount.format(limits.maxUnpackedSize)) (--max-unpacked-size)
                        """)
            }
            let hasher = HashingSink(passingTo: try open?(name))
            while true {
                let count = try reader.readData(into: buffer, entry: entry.name)
                if count == 0 { break }
                try hasher.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
            let digest = hasher.finish()
            guard digest == checksums.digests[name] else {
                throw ArchiveError(
                    .checksumMismatch, bundle: bundle, entry: entry.name,
                    reason: "has SHA-256 \(digest), but SHA256SUMS records \(checksums.digests[name] ?? "none")")
            }
            sizes[name] = entry.size
        }
        for name in payloadNames.sorted() where sizes[name] == nil {
            throw ArchiveError(.unexpectedEntry, bundle: bundle, entry: name, reason: "is missing from the archive")
        }
        // Whatever follows the end marker must still be a complete zstd frame.
        try forEachChunk(of: ZstdDrain(reader: reader)) { _ in }
        return BundleFileSummary(checksums: checksums, sizes: sizes, compressedSize: compressedSize)
    }

    private static func tarReader(_ file: URL, bundle: String) throws -> TarReader {
        let source = try FileStream.reading(file.path, bundle: bundle)
        return TarReader(from: ZstdDecompressor(from: source, bundle: bundle), bundle: bundle)
    }

    /// The first entry, which must be `SHA256SUMS` listing exactly the payload.
    private static func readChecksums(_ reader: TarReader, bundle: String) throws -> BundleChecksums {
        guard let first = try reader.next() else {
            throw ArchiveError(
                .unexpectedEntry, bundle: bundle,
                reason: "is an empty archive; a .bundle holds SHA256SUMS, bundle.json and artifact")
        }
        _ = try EntryPolicy.components(of: first, bundle: bundle)
        guard first.name == BundleChecksums.fileName, first.kind == .file else {
            throw ArchiveError(
                .unexpectedEntry, bundle: bundle, entry: first.name,
                reason: "comes first, where a .bundle has SHA256SUMS (is this a .bundle file?)")
        }
        guard first.size <= BundleChecksums.maxSize else {
            throw ArchiveError(
                .tooLarge, bundle: bundle, entry: first.name, reason: "is \(first.size) bytes; at most 64 KiB")
        }
        var bytes = [UInt8](repeating: 0, count: Int(first.size))
        var filled = 0
        try bytes.withUnsafeMutableBytes { buffer in
            while filled < buffer.count {
                let count = try reader.readData(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), entry: first.name)
                if count == 0 { break }
                filled += count
            }
        }
        let checksums = try BundleChecksums(text: String(decoding: bytes, as: UTF8.self), bundle: bundle)
        guard Set(checksums.digests.keys) == payloadNames else {
            throw ArchiveError(
                .unexpectedEntry, bundle: bundle, entry: first.name,
                reason: "lists \(checksums.digests.keys.sorted()); a .bundle lists exactly artifact and bundle.json")
        }
        return checksums
    }

    /// The payload name of an entry, once its name and type pass the policy.
    private static func payloadName(_ entry: TarEntry, bundle: String) throws -> String {
        let components = try EntryPolicy.components(of: entry, bundle: bundle)
        let name = components.joined(separator: "/")
        if name == BundleChecksums.fileName {
            throw ArchiveError(.duplicateEntry, bundle: bundle, entry: entry.name, reason: "appears twice")
        }
        guard entry.kind == .file, payloadNames.contains(name) else {
            throw ArchiveError(
                .unexpectedEntry, bundle: bundle, entry: entry.name,
                reason: "is not part of a .bundle, which holds only SHA256SUMS, bundle.json and artifact")
        }
        return name
    }
}

/// Reads the rest of the decompressed stream after the tar end marker (tar pads to a record
/// size), so that a truncated zstd frame is still noticed.
private final class ZstdDrain: ByteSource {
    let reader: TarReader
    init(reader: TarReader) { self.reader = reader }
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        try reader.readTrailing(into: buffer)
    }
}
