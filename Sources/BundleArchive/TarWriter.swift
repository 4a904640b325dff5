/// Writes a tar archive (POSIX ustar, with pax records for long names and sizes over 8 GiB)
/// to a sink, one entry at a time, never holding an entry's data.
///
/// Headers are deterministic (owner 0, time 0), so equal contents give equal archives. The
/// writer writes whatever entry it is given, links and devices included: checking entries is
/// the reader's job, and tests build hostile archives with this writer.
public final class TarWriter {
    private let output: ByteSink
    private let zeros = [UInt8](repeating: 0, count: TarHeader.blockSize)

    /// Makes a writer into `output`.
    public init(into output: ByteSink) {
        self.output = output
    }

    /// Writes `entry`'s header, then its data from `body`, which must write exactly
    /// `entry.size` bytes to the sink it is given.
    public func append(_ entry: TarEntry, body: (ByteSink) throws -> Void = { _ in }) throws {
        var pax: [(String, String)] = []
        if entry.name.utf8.count > 100 { pax.append(("path", entry.name)) }
        if entry.linkTarget.utf8.count > 100 { pax.append(("linkpath", entry.linkTarget)) }
        if entry.size > TarHeader.maxOctalSize { pax.append(("size", String(entry.size))) }
        if !pax.isEmpty {
            let records = Array(pax.map(Self.paxRecord).joined().utf8)
            try writeBlock(
                TarHeader.encode(
                    name: "PaxHeader", kind: .other(UInt8(ascii: "x")), size: UInt64(records.count), mode: 0o644,
                    linkTarget: ""))
            try writePadded(records)
        }
        try writeBlock(
            TarHeader.encode(
                name: String(decoding: entry.name.utf8.prefix(100), as: UTF8.self), kind: entry.kind, size: entry.size,
                mode: entry.mode, linkTarget: String(decoding: entry.linkTarget.utf8.prefix(100), as: UTF8.self)))
        let counter = CountingSink(passingTo: output)
        try body(counter)
        guard counter.count == entry.size else {
            throw ArchiveError(
                .io, bundle: "(writing)", entry: entry.name,
                reason: "was announced as \(entry.size) bytes but \(counter.count) were written; did the file change?")
        }
        try pad(entry.size)
    }

    /// Ends the archive with two zero blocks.
    public func finish() throws {
        try writeBlock(zeros)
        try writeBlock(zeros)
    }

    /// `"<length> key=value\n"`, where the length counts itself.
    static func paxRecord(_ record: (String, String)) -> String {
        let body = " \(record.0)=\(record.1)\n"
        var length = body.utf8.count + 1
        while String(length).count + body.utf8.count != length { length += 1 }
        return "\(length)\(body)"
    }

    private func writeBlock(_ block: [UInt8]) throws {
        try block.withUnsafeBytes { try output.write($0) }
    }

    private func writePadded(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try output.write($0) }
        try pad(UInt64(bytes.count))
    }

    private func pad(_ size: UInt64) throws {
        let remainder = Int(size % UInt64(TarHeader.blockSize))
        guard remainder != 0 else { return }
        try zeros.withUnsafeBytes {
            try output.write(UnsafeRawBufferPointer(rebasing: $0[0..<(TarHeader.blockSize - remainder)]))
        }
    }
}

/// A sink that counts what passes through it.
final class CountingSink: ByteSink {
    private let next: ByteSink
    private(set) var count: UInt64 = 0

    init(passingTo next: ByteSink) {
        self.next = next
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        count += UInt64(bytes.count)
        try next.write(bytes)
    }
}
