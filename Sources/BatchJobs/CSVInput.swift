import CSV
import Foundation
import JSONBytes
import WorkerCore

#if canImport(Glibc)
    import Glibc
#endif

/// A CSV in the shape Launch's batch jobs read, parsed by CSV.swift a block of rows at a time
/// (``CSVBlocks``): a header row naming a `url` column (the input's location) or an `args`
/// column (predict's keyword arguments as a JSON object), or both (each row fills one), and
/// optionally an `id` column.
///
/// Lines are counted as rows, the header being line 1: a quoted field that holds a line break
/// makes the file's own line numbers run ahead of them.
public struct CSVInput: BatchInputReader {
    private let file: OwnedDescriptor
    private var blocks: CSVBlocks
    /// CSV.swift's reader of the current block; this value owns the only reference.
    private var reader: CSVReader
    private let name: String
    private let columns: (url: Int?, args: Int?, id: Int?)
    private let returnPickled: Bool
    private var index = 0
    /// The line of the next row, counting rows (a quoted line break is not counted).
    private var line = 2
    /// Why the rows after the current block's cannot be read (text that is not UTF-8).
    private var unreadable: BatchInputError?

    /// Reads the CSV from `fd` (closed when the last copy of this value goes), named `name` in
    /// errors; with `returnPickled`, every request's output is pickled.
    ///
    /// - Throws: ``BatchInputError`` when there is no header row, or it names neither a `url`
    ///   nor an `args` column, or the file cannot be read.
    public init(fd: Int32, name: String, returnPickled: Bool) throws(BatchInputError) {
        file = OwnedDescriptor(fd)
        blocks = CSVBlocks(fd: fd)
        self.name = name
        self.returnPickled = returnPickled
        let first: ArraySlice<UInt8>?
        switch try Self.read(&blocks, name: name) {
        case .malformedRow:
            throw BatchInputError(
                "\(name): cannot read the header row (line 1): a quoted field has text after its closing quote")
        case .rows(let block): first = block
        case nil: first = nil
        }
        let (firstText, badText) = Self.text(of: first, name: name, firstLine: 1)
        unreadable = badText
        do {
            reader = try CSVReader(string: firstText, hasHeaderRow: true)
        } catch {
            throw badText ?? BatchInputError("\(name): cannot read a CSV header row (\(error)): is the file empty?")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        columns = (header.firstIndex(of: "url"), header.firstIndex(of: "args"), header.firstIndex(of: "id"))
        guard columns.url != nil || columns.args != nil else {
            throw BatchInputError(
                "\(name): the header row (line 1) names neither a url nor an args column; it has: "
                    + header.joined(separator: ", "))
        }
    }

    public mutating func next() throws(BatchInputError) -> BatchItem? {
        while true {
            if let row = reader.next() {
                defer { line += 1 }
                // A blank line, which CSV.swift reads as one empty field.
                if row == [""] { continue }
                return item(row, line: line, problem: nil)
            }
            if let unreadable { throw unreadable }
            switch try Self.read(&blocks, name: name) {
            case nil:
                return nil
            case .malformedRow(let bytes):
                defer { line += 1 }
                // For its id only: CSV.swift reads the fields before the bad one as written.
                let fields = (try? CSVReader(string: String(decoding: bytes, as: UTF8.self), hasHeaderRow: false))?
                    .next()
                return item(
                    fields ?? [], line: line,
                    problem: "a quoted field has text after its closing quote (a quote inside a quoted field is "
                        + "written twice: \"\")")
            case .rows(let block):
                let text: String
                (text, unreadable) = Self.text(of: block, name: name, firstLine: line)
                // Cannot throw: only a header row that cannot be read throws, and none is asked for.
                guard let next = try? CSVReader(string: text, hasHeaderRow: false) else { return nil }
                reader = next
            }
        }
    }

    /// The input `row` on `line` makes, or a bad row for `problem`.
    private mutating func item(_ row: [String], line: Int, problem: String?) -> BatchItem {
        defer { index += 1 }
        let field = { (column: Int?) -> String? in
            guard let column, column < row.count, !row[column].isEmpty else { return nil }
            return row[column]
        }
        let request =
            problem.map { .failure(BadRow(line: line, $0)) }
            ?? request(url: field(columns.url), args: field(columns.args), line: line)
        return BatchItem(index: index, line: line, id: field(columns.id) ?? String(index + 1), request: request)
    }

    private static func read(_ blocks: inout CSVBlocks, name: String) throws(BatchInputError) -> CSVBlocks.Block? {
        do throws(CSVReadError) {
            return try blocks.next()
        } catch {
            throw BatchInputError("\(name): cannot read it: \(String(cString: strerror(error.errno)))")
        }
    }

    /// `block` as text; when some of it is not UTF-8, the lines before the first that is not,
    /// and the error naming that line (counted from `firstLine`).
    private static func text(of block: ArraySlice<UInt8>?, name: String, firstLine: Int) -> (
        String, BatchInputError?
    ) {
        guard let block else { return ("", nil) }
        if let text = String(validating: block, as: UTF8.self) { return (text, nil) }
        let lines = block.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let bad = lines.firstIndex { String(validating: $0, as: UTF8.self) == nil } ?? 0
        let valid = lines[..<bad].map { String(decoding: $0, as: UTF8.self) + "\n" }.joined()
        return (valid, BatchInputError("\(name): cannot read line \(firstLine + bad): the text is not UTF-8"))
    }

    private func request(url: String?, args: String?, line: Int) -> Result<PredictRequest, BadRow> {
        let body: String
        switch (url, args) {
        case (.some, .some):
            return .failure(BadRow(line: line, "both url and args are filled: give one"))
        case (.none, .none):
            return .failure(BadRow(line: line, "neither url nor args is filled: give one"))
        case (.some(let url), .none):
            body = "{\"url\":\(JSONText.quote(url)),\"return_pickled\":\(returnPickled)}"
        case (.none, .some(let args)):
            guard JSONValidator.firstInvalidByte(in: Array(args.utf8)) == nil else {
                return .failure(BadRow(line: line, "args is not valid JSON: \(args.prefix(200))"))
            }
            // A plain object is what the body below decodes to: no need to build and read it.
            if args.utf8.first == UInt8(ascii: "{"), args.utf8.last == UInt8(ascii: "}") {
                return .success(PredictRequest(input: .args(json: args), returnPickled: returnPickled))
            }
            body = "{\"args\":\(args),\"return_pickled\":\(returnPickled)}"
        }
        do {
            return .success(try PredictRequest(json: Array(body.utf8)))
        } catch {
            return .failure(BadRow(line: line, error.reason))
        }
    }
}

/// A file descriptor closed when the last reference goes.
final class OwnedDescriptor: Sendable {
    let fd: Int32

    init(_ fd: Int32) {
        self.fd = fd
    }

    deinit {
        close(fd)
    }
}
