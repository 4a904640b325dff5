import BatchJobs
import CSV
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The rows CSV.swift reads from `text` whole.
private func rowsWhole(_ text: String) throws -> [[String]] {
    let reader = try CSVReader(string: text, hasHeaderRow: false)
    var rows: [[String]] = []
    while let row = reader.next() { rows.append(row) }
    return rows
}

/// The rows CSV.swift reads from `text` cut by ``CSVBlocks`` reading `readSize` bytes at a time;
/// a row given alone as malformed is `["malformed", its text]`.
private func rowsInBlocks(_ text: String, readSize: Int) throws -> [[String]] {
    var ends: [Int32] = [0, 0]
    #expect(pipe(&ends) == 0)
    defer { close(ends[0]) }
    let bytes = Array(text.utf8)
    // Small texts: the pipe holds them whole.
    #expect(bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, bytes.count) } == bytes.count)
    close(ends[1])
    var blocks = CSVBlocks(fd: ends[0], readSize: readSize)
    var rows: [[String]] = []
    while let block = try blocks.next() {
        switch block {
        case .rows(let block): rows += try rowsWhole(String(decoding: block, as: UTF8.self))
        case .malformedRow(let row): rows.append(["malformed", String(decoding: row, as: UTF8.self)])
        }
    }
    return rows
}

@Suite("CSV blocks")
struct CSVBlocksTests {
    @Test(
        "cut anywhere, the blocks give CSV.swift's rows of the whole text",
        arguments: [
            "id,args\n1,\"{\"\"x\"\": 1}\"\n2,\"{\"\"x\"\": 2}\"\n",
            "a,\"line\nbreak\",c\nd,e,f",
            "a,b\r\nc,d\r\n\r\ne,\"f\r\ng\"\r\n",
            "lone,cr\rnext,row\r\rlast",
            "stray\"quote,b\nc,\"q\"\"x\ny\",d\ne,\"\"\"\"\n",
            "a\"b,\"c\nd\"\n\"e\",f\n",
            "\n\n,\n\"\"\n\"unterminated\nrow,here\n",
            "é,\"ü\n😀\",x\n",
        ])
    func sameRows(text: String) throws {
        let whole = try rowsWhole(text)
        for readSize in [1, 2, 3, 5, 8, 64] {
            #expect(try rowsInBlocks(text, readSize: readSize) == whole, "read \(readSize) bytes at a time")
        }
    }

    @Test("every text of up to 6 of a \" , \\n \\r: the same rows and malformed rows however the reads cut it")
    func everyShortText() async throws {
        let alphabet = ["a", "\"", ",", "\n", "\r"]
        var texts = [""]
        for _ in 0..<6 {
            texts = texts.flatMap { text in alphabet.map { text + $0 } }
            for (index, text) in texts.enumerated() {
                // Seconds of work on a busy machine: other tests get the cooperative threads now
                // and then (a test kept from them that long misses its own deadlines).
                if index % 200 == 0 { await Task.yield() }
                let whole = try rowsInBlocks(text, readSize: 64)
                for readSize in [1, 2] where try rowsInBlocks(text, readSize: readSize) != whole {
                    Issue.record("\(text.debugDescription) read \(readSize) bytes at a time")
                }
            }
        }
    }

    @Test(
        "a row with text after a closing quote is a block of its own, wherever the cuts fall; the rows after it read",
        arguments: [
            (
                "id,x\n1,\"{\"\"x\"\": 2}\"junk, more\n2,\"ok\"\n3,c",
                [["id", "x"], ["malformed", "1,\"{\"\"x\"\": 2}\"junk, more\n"], ["2", "ok"], ["3", "c"]]
            ),
            ("\"a\"b,\"x\ny\"\r\n2,z", [["malformed", "\"a\"b,\"x\ny\"\r\n"], ["2", "z"]]),
            ("1,\"a\"b\r2,\"c\"d", [["malformed", "1,\"a\"b\r"], ["malformed", "2,\"c\"d"]]),
            ("\"\"a,\"\nb\n", [["malformed", "\"\"a,\"\nb\n"]]),
        ])
    func malformedRow(text: String, rows: [[String]]) throws {
        for readSize in [1, 2, 3, 5, 8, 64] {
            #expect(try rowsInBlocks(text, readSize: readSize) == rows, "read \(readSize) bytes at a time")
        }
    }
}
