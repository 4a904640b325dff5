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

/// The rows CSV.swift reads from `text` cut by ``CSVBlocks`` reading `readSize` bytes at a time.
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
        rows += try rowsWhole(String(decoding: block, as: UTF8.self))
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
            "stray\"quote,b\nc,\"q\"x\ny\",d\ne,\"\"\"\"\n",
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
}
