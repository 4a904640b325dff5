/// Reads a tar archive from a source one entry at a time, streaming each entry's data.
///
/// It understands ustar (with its name prefix), pax records (`path`, `linkpath`, `size`) and
/// GNU long names, and reports everything else as it is, for the caller to refuse. A stream
/// that ends before the archive's end marker, or inside an entry, is truncated.
public final class TarReader {
    private let input: ByteSource
    private let bundle: String
    private var remaining: UInt64 = 0
    private var padding: UInt64 = 0
    private var ended = false
    /// Extensions (pax or GNU) are small; larger ones are refused rather than read into memory.
    private static let maxExtensionSize: UInt64 = 1 << 20

    /// Makes a reader of the archive `input` holds; `bundle` names it in errors.
    public init(from input: ByteSource, bundle: String) {
        self.input = input
        self.bundle = bundle
    }

    /// The next entry, skipping what is left of the current one's data; nil after the end marker.
    public func next() throws -> TarEntry? {
        guard !ended else { return nil }
        try skip(remaining + padding)
        remaining = 0
        padding = 0
        var pax: [String: String] = [:]
        var longName: String?
        var longLink: String?
        while true {
            guard let block = try readBlock(context: nil) else {
                throw ArchiveError(
                    .truncated, bundle: bundle, reason: "is truncated: the archive ends without its end marker")
            }
            if block.allSatisfy({ $0 == 0 }) {
                ended = true
                return nil
            }
            let name = TarHeader.string(block, TarHeader.Field.name)
            guard
                TarHeader.number(block, TarHeader.Field.checksum).map({ UInt32($0) == TarHeader.checksum(of: block) })
                    == true
            else {
                throw ArchiveError(
                    .corrupt, bundle: bundle, entry: name, reason: "has a damaged header (its checksum does not match)")
            }
            guard var size = TarHeader.number(block, TarHeader.Field.size) else {
                throw ArchiveError(.corrupt, bundle: bundle, entry: name, reason: "has a damaged size field")
            }
            let flag = block[TarHeader.Field.type]
            switch flag {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                let records = try readExtension(size: size, entry: name)
                if flag == UInt8(ascii: "x") { pax.merge(try parsePax(records, entry: name)) { $1 } }
                continue
            case UInt8(ascii: "L"):
                longName = String(
                    decoding: try readExtension(size: size, entry: name).prefix { $0 != 0 }, as: UTF8.self)
                continue
            case UInt8(ascii: "K"):
                longLink = String(
                    decoding: try readExtension(size: size, entry: name).prefix { $0 != 0 }, as: UTF8.self)
                continue
            default:
                break
            }
            var fullName = name
            let magic = TarHeader.string(block, TarHeader.Field.magic)
            let prefix = TarHeader.string(block, TarHeader.Field.prefix)
            if magic.hasPrefix("ustar"), !prefix.isEmpty { fullName = prefix + "/" + name }
            fullName = pax["path"] ?? longName ?? fullName
            if let paxSize = pax["size"] {
                guard let parsed = UInt64(paxSize) else {
                    throw ArchiveError(.corrupt, bundle: bundle, entry: fullName, reason: "has a damaged pax size")
                }
                size = parsed
            }
            let kind = TarEntry.Kind(flag: flag)
            // Only files carry data; a size on anything else is data to skip.
            let entry = TarEntry(
                name: fullName, kind: kind, size: kind == .file ? size : 0,
                mode: UInt32(truncatingIfNeeded: TarHeader.number(block, TarHeader.Field.mode) ?? 0),
                linkTarget: pax["linkpath"] ?? longLink ?? TarHeader.string(block, TarHeader.Field.linkName))
            remaining = size
            padding = Self.padding(size)
            if kind != .file { try skipData(of: fullName) }
            return entry
        }
    }

    /// Reads up to `buffer.count` bytes of the current entry's data; 0 at its end.
    ///
    /// - Throws: ``ArchiveError`` (`truncated`) when the stream ends inside the entry.
    public func readData(into buffer: UnsafeMutableRawBufferPointer, entry: String) throws -> Int {
        guard remaining > 0 else { return 0 }
        let wanted = Int(min(UInt64(buffer.count), remaining))
        let count = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]))
        guard count > 0 else {
            throw ArchiveError(
                .truncated, bundle: bundle, entry: entry,
                reason: "is truncated: the stream ends \(remaining) bytes before the entry does")
        }
        remaining -= UInt64(count)
        return count
    }

    /// After the end marker, reads what follows it in the stream (tar pads to a record size),
    /// so the caller can check that the stream itself ends cleanly; 0 before the end marker.
    public func readTrailing(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard ended else { return 0 }
        return try input.read(into: buffer)
    }

    private func skipData(of entry: String) throws {
        try skip(remaining + padding, entry: entry)
        remaining = 0
        padding = 0
    }

    private func skip(_ count: UInt64, entry: String? = nil) throws {
        guard count > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: min(chunkSize, Int(min(count, UInt64(chunkSize)))), alignment: 16)
        defer { buffer.deallocate() }
        var left = count
        while left > 0 {
            let wanted = Int(min(UInt64(buffer.count), left))
            let read = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]))
            guard read > 0 else {
                throw ArchiveError(
                    .truncated, bundle: bundle, entry: entry, reason: "is truncated: the stream ends inside an entry")
            }
            left -= UInt64(read)
        }
    }

    /// One 512-byte block; nil at a clean end of the stream, an error at a partial block.
    private func readBlock(context: String?) throws -> [UInt8]? {
        var block = [UInt8](repeating: 0, count: TarHeader.blockSize)
        var filled = 0
        try block.withUnsafeMutableBytes { bytes in
            while filled < TarHeader.blockSize {
                let count = try input.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[filled...]))
                if count == 0 { break }
                filled += count
            }
        }
        if filled == 0 { return nil }
        guard filled == TarHeader.blockSize else {
            throw ArchiveError(
                .truncated, bundle: bundle, entry: context, reason: "is truncated: the stream ends inside a header")
        }
        return block
    }

    private func readExtension(size: UInt64, entry: String) throws -> [UInt8] {
        guard size <= Self.maxExtensionSize else {
            throw ArchiveError(
                .tooLarge, bundle: bundle, entry: entry,
                reason: "is an extended header of \(size) bytes; at most 1 MiB is read")
        }
        var data = [UInt8]()
        let blocks = (size + UInt64(TarHeader.blockSize) - 1) / UInt64(TarHeader.blockSize)
        for _ in 0..<blocks {
            guard let block = try readBlock(context: entry) else {
                throw ArchiveError(
                    .truncated, bundle: bundle, entry: entry, reason: "is truncated inside an extended header")
            }
            data += block
        }
        return Array(data.prefix(Int(size)))
    }

    /// Parses pax records: `"<length> key=value\n"` each.
    private func parsePax(_ bytes: [UInt8], entry: String) throws -> [String: String] {
        var records: [String: String] = [:]
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: 0x20),
                let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                length > 0, length <= rest.count
            else {
                throw ArchiveError(.corrupt, bundle: bundle, entry: entry, reason: "has a damaged pax record")
            }
            let record = rest[(space + 1)..<(rest.startIndex + length)]
            rest = rest[(rest.startIndex + length)...]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            var value = record[(equals + 1)...]
            if value.last == 0x0A { value = value.dropLast() }
            records[key] = String(decoding: value, as: UTF8.self)
        }
        return records
    }

    static func padding(_ size: UInt64) -> UInt64 {
        let remainder = size % UInt64(TarHeader.blockSize)
        return remainder == 0 ? 0 : UInt64(TarHeader.blockSize) - remainder
    }
}
