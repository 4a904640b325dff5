import CSV
import Foundation
import JSONBytes
import WorkerCore

/// A CSV in the shape Launch's batch jobs read, parsed a row at a time by CSV.swift: a header
/// row naming a `url` column (the input's location) or an `args` column (predict's keyword
/// arguments as a JSON object), or both (each row fills one), and optionally an `id` column.
///
/// Lines are counted as rows, the header being line 1: a quoted field that holds a line break
/// makes the file's own line numbers run ahead of them.
public struct CSVInput: BatchInputReader {
    /// CSV.swift's reader is a class that its parse mutates; this value owns the only reference.
    private let reader: CSVReader
    private let name: String
    private let columns: (url: Int?, args: Int?, id: Int?)
    private let returnPickled: Bool
    private var index = 0

    /// Reads the CSV from `stream`, named `name` in errors; with `returnPickled`, every
    /// request's output is pickled.
    ///
    /// - Throws: ``BatchInputError`` when there is no header row, or it names neither a `url`
    ///   nor an `args` column.
    public init(_ stream: InputStream, name: String, returnPickled: Bool) throws(BatchInputError) {
        do {
            reader = try CSVReader(stream: stream, hasHeaderRow: true)
        } catch {
            throw BatchInputError("\(name): cannot read a CSV header row (\(error)): is the file empty?")
        }
        let header = (reader.headerRow ?? []).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        columns = (header.firstIndex(of: "url"), header.firstIndex(of: "args"), header.firstIndex(of: "id"))
        guard columns.url != nil || columns.args != nil else {
            throw BatchInputError(
                "\(name): the header row (line 1) names neither a url nor an args column; it has: "
                    + header.joined(separator: ", "))
        }
        self.name = name
        self.returnPickled = returnPickled
    }

    public mutating func next() throws(BatchInputError) -> BatchItem? {
        guard let row = reader.next() else {
            guard let error = reader.error, let reason = Self.failure(error) else { return nil }
            throw BatchInputError("\(name): cannot read line \(index + 2): \(reason)")
        }
        defer { index += 1 }
        let line = index + 2
        let field = { (column: Int?) -> String? in
            guard let column, column < row.count, !row[column].isEmpty else { return nil }
            return row[column]
        }
        return BatchItem(
            index: index, line: line, id: field(columns.id) ?? String(index + 1),
            request: request(url: field(columns.url), args: field(columns.args), line: line))
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
            body = "{\"args\":\(args),\"return_pickled\":\(returnPickled)}"
            guard JSONValidator.firstInvalidByte(in: Array(args.utf8)) == nil else {
                return .failure(BadRow(line: line, "args is not valid JSON: \(args.prefix(200))"))
            }
        }
        do {
            return .success(try PredictRequest(json: Array(body.utf8)))
        } catch {
            return .failure(BadRow(line: line, error.reason))
        }
    }

    /// What went wrong when CSV.swift's reader stopped with `error`, nil at the end of the input
    /// (which it records as `cannotReadFile`).
    private static func failure(_ error: any Error) -> String? {
        switch error as? CSVError {
        case .cannotReadFile: nil
        case .unicodeDecoding: "the text is not UTF-8"
        case .streamErrorHasOccurred(let error): error.localizedDescription
        case .some(let error): "\(error)"
        case .none: "\(error)"
        }
    }
}
