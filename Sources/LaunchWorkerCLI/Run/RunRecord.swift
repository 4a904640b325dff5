import Foundation

/// What `run`'s child tells its parent over their pipe, in order: the phase it enters, the
/// response, and that it ends on its own; the parent adds `reaped` once the child has exited.
///
/// Each record is a line (`phase load`, `done`, ...); a response is `response N` and then its
/// N bytes of JSON, so no byte of the response can be taken for a record.
enum RunRecord: Equatable {
    /// The child entered a phase: what a process that ends unexpectedly was doing.
    case phase(RunPhase)
    /// Launch's response JSON, to be printed on stdout.
    case response(Data)
    /// The child returns from the command: however it exits next, it chose to.
    case done
    /// Written by the parent after `waitpid`: nothing the child wrote comes after it.
    case reaped

    /// The record's bytes on the pipe.
    var bytes: Data {
        switch self {
        case .phase(let phase): Data("phase \(phase.rawValue)\n".utf8)
        case .response(let json): Data("response \(json.count)\n".utf8) + json
        case .done: Data("done\n".utf8)
        case .reaped: Data("reaped\n".utf8)
        }
    }

    /// Takes the complete records off the front of `buffer`, leaving a partial one there.
    ///
    /// - Throws: ``RunRecordError`` for bytes that are no record (never written by the child).
    static func take(from buffer: inout Data) throws(RunRecordError) -> [RunRecord] {
        var records: [RunRecord] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
            let rest = buffer.index(after: newline)
            let record: RunRecord
            switch line.split(separator: " ", maxSplits: 1).map(String.init) {
            case ["done"]: record = .done
            case ["reaped"]: record = .reaped
            case let words where words.count == 2 && words[0] == "phase":
                guard let phase = RunPhase(rawValue: words[1]) else { throw RunRecordError(line: line) }
                record = .phase(phase)
            case let words where words.count == 2 && words[0] == "response":
                guard let count = Int(words[1]), count >= 0 else { throw RunRecordError(line: line) }
                guard buffer.distance(from: rest, to: buffer.endIndex) >= count else { return records }
                let end = buffer.index(rest, offsetBy: count)
                records.append(.response(Data(buffer[rest..<end])))
                buffer = Data(buffer[end...])
                continue
            default: throw RunRecordError(line: line)
            }
            records.append(record)
            buffer = Data(buffer[rest...])
        }
        return records
    }
}

/// Where `run`'s child is: what it was doing if the process ends without saying `done`.
enum RunPhase: String {
    /// Loading the bundle (Python starts, the bundle's load functions run).
    case load
    /// Running the request (predict).
    case predict
}

/// Bytes on `run`'s pipe that are no record: a bug, never the bundle's doing.
struct RunRecordError: Error, CustomStringConvertible {
    var line: String
    var description: String { "run's child process sent an unknown record: \(line.prefix(80))" }
}
