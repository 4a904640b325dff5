import Crypto
import Foundation

/// The `SHA256SUMS` entry of a `.bundle` file: the SHA-256 of each other entry, in
/// `sha256sum`'s format (`<hex>  <name>`, one line each, sorted by name), so that
/// `sha256sum -c SHA256SUMS` checks an unpacked bundle too.
///
/// The bundle's key in the cache is the SHA-256 of this text in its canonical form: it depends
/// only on the entries' contents, not on how the file was compressed.
public struct BundleChecksums: Sendable, Equatable {
    /// The entry's name inside a `.bundle` file.
    public static let fileName = "SHA256SUMS"
    /// The largest `SHA256SUMS` a reader accepts.
    static let maxSize = 64 * 1024

    /// Each entry's lowercase hex SHA-256, by name.
    public var digests: [String: String]

    /// Makes checksums from digests by entry name.
    public init(_ digests: [String: String]) {
        self.digests = digests
    }

    /// Parses `SHA256SUMS` text.
    ///
    /// - Throws: ``ArchiveError`` (`corrupt`) naming the bad line, or (`duplicateEntry`) a name listed twice.
    public init(text: String, bundle: String) throws {
        var digests: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, Self.isDigest(parts[0]) else {
                throw ArchiveError(
                    .corrupt, bundle: bundle, entry: Self.fileName,
                    reason: "has a line that is not '<sha256 in hex>  <name>': \(line.prefix(100))")
            }
            var name = parts[1]
            if name.first == " " || name.first == "*" { name = name.dropFirst() }
            guard digests.updateValue(parts[0].lowercased(), forKey: String(name)) == nil else {
                throw ArchiveError(
                    .duplicateEntry, bundle: bundle, entry: Self.fileName, reason: "lists '\(name)' twice")
            }
        }
        self.digests = digests
    }

    /// The canonical text: one `<hex>  <name>` line per entry, sorted by name.
    public var text: String {
        digests.keys.sorted().map { "\(digests[$0]!)  \($0)\n" }.joined()
    }

    /// The bundle's content address: the SHA-256 of ``text``.
    public var key: String {
        Data(text.utf8).sha256Hex
    }

    /// Whether `text` is 64 hex digits.
    static func isDigest(_ text: Substring) -> Bool {
        text.utf8.count == 64 && text.allSatisfy(\.isHexDigit)
    }

    /// Whether `key` can name a cache entry (64 lowercase hex digits, nothing else).
    public static func isKey(_ key: String) -> Bool {
        key.utf8.count == 64 && key.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}

extension Digest {
    /// The digest in lowercase hex.
    var hex: String {
        map { String(format: "%02x", $0) }.joined()
    }
}

extension Data {
    /// The data's SHA-256 in lowercase hex.
    var sha256Hex: String { SHA256.hash(data: self).hex }
}

/// A sink that hashes what passes through it and hands it on.
final class HashingSink: ByteSink {
    private var hasher = SHA256()
    private let next: ByteSink?
    /// How many bytes passed.
    private(set) var count: UInt64 = 0

    init(passingTo next: ByteSink?) {
        self.next = next
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bufferPointer: bytes)
        count += UInt64(bytes.count)
        try next?.write(bytes)
    }

    /// The hex SHA-256 of everything written.
    func finish() -> String {
        hasher.finalize().hex
    }
}

/// The hex SHA-256 and size of a file, read in chunks.
func sha256(ofFile path: String, bundle: String) throws -> (digest: String, size: UInt64) {
    let hasher = HashingSink(passingTo: nil)
    try forEachChunk(of: try FileStream.reading(path, bundle: bundle)) { try hasher.write($0) }
    return (hasher.finish(), hasher.count)
}
