import JSONBytes
import WorkerCore

/// A JSON Lines file of Launch request bodies (`{"args": ...}`, `{"url": ...}`), one per line,
/// read a block at a time. Blank lines are skipped; a line's `id` member (a string or a number)
/// is its id, else its line number.
public struct JSONLinesInput: BatchInputReader {
    private let lines: LineReader
    private let returnPickled: Bool
    private var index = 0

    /// Reads `lines`; with `returnPickled`, every request's output is pickled.
    public init(_ lines: LineReader, returnPickled: Bool) {
        self.lines = lines
        self.returnPickled = returnPickled
    }

    public mutating func next() throws(BatchInputError) -> BatchItem? {
        while let (number, line) = try lines.next() {
            guard line.contains(where: { !Self.isSpace($0) }) else { continue }
            defer { index += 1 }
            let id = Self.id(of: line) ?? String(number)
            let request: Result<PredictRequest, BadRow>
            do {
                var decoded = try PredictRequest(json: line)
                decoded.returnPickled = decoded.returnPickled || returnPickled
                request = .success(decoded)
            } catch {
                request = .failure(BadRow(line: number, error.reason))
            }
            return BatchItem(index: index, line: number, id: id, request: request)
        }
        return nil
    }

    /// The line's `id` member as text, when it is a string or a number.
    private static func id(of line: [UInt8]) -> String? {
        guard let object = RawJSON.Object(line[...]), let raw = object[raw: "id"] else { return nil }
        if let string = RawJSON.string(raw) { return string }
        guard let first = raw.first, first == UInt8(ascii: "-") || (0x30...0x39).contains(first) else { return nil }
        return String(decoding: raw, as: UTF8.self)
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A
    }
}
