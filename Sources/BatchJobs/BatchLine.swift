import JSONBytes
import WorkerCore

/// The lines of a batch's output folder, appended byte by byte to the block that waits to be
/// written: a result line of `results.jsonl` and its journal line (``BatchJournal``).
enum BatchLine {
    /// `{"id":...,"status":...,"result":...}` and a line break, members with no value left out,
    /// in the order `id`, `status`, `result`, `result_url`, `traceback`.
    static func appendResult(id: String, _ response: TaskResponse, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: #"{"id":"#.utf8)
        JSONText.appendQuoted(id, to: &bytes)
        bytes.append(contentsOf: #","status":"#.utf8)
        JSONText.appendQuoted(response.status.rawValue, to: &bytes)
        if let result = response.result {
            bytes.append(contentsOf: #","result":"#.utf8)
            JSONText.appendQuoted(result, to: &bytes)
        }
        if let url = response.resultURL {
            bytes.append(contentsOf: #","result_url":"#.utf8)
            JSONText.appendQuoted(url, to: &bytes)
        }
        if let traceback = response.traceback {
            bytes.append(contentsOf: #","traceback":"#.utf8)
            JSONText.appendQuoted(traceback, to: &bytes)
        }
        bytes.append(contentsOf: "}\n".utf8)
    }

    /// `INDEX S END` or `INDEX F END` and a line break.
    static func appendJournal(index: Int, success: Bool, end: Int, to bytes: inout [UInt8]) {
        appendDecimal(index, to: &bytes)
        bytes.append(contentsOf: success ? " S ".utf8 : " F ".utf8)
        appendDecimal(end, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// The decimal digits of `value` (not negative), found last to first by dividing by a
    /// constant, which the compiler makes a multiplication.
    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for any Int's digits
        withUnsafeMutableBytes(of: &digits) { buffer in
            var rest = UInt(value)
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            bytes.append(contentsOf: buffer[start...])
        }
    }
}
