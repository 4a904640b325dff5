import BatchJobs
import Foundation
import TestSupport
import Testing
import WorkerCore

/// Writes `text` to a new file named `name` and returns its path.
func inputFile(_ name: String, _ text: String) throws -> String {
    let file = try Checkout.temporaryFolder("batch-input").appending(path: name)
    try Data(text.utf8).write(to: file)
    return file.path
}

/// Every item `path` holds, read as its name says.
func items(_ path: String, returnPickled: Bool = false) throws -> [BatchItem] {
    var reader = try BatchInputFile(path: path, format: nil).open(returnPickled: returnPickled)
    var items: [BatchItem] = []
    while let item = try reader.next() { items.append(item) }
    return items
}

@Suite("batch inputs")
struct BatchInputTests {
    @Test("a CSV's url and args columns make requests; the id column or the row number is the id")
    func csv() throws {
        let path = try inputFile(
            "in.csv",
            """
            id,url,args
            a,/tmp/x.bin,
            ,,"{""x"": 1, ""y"": 2}"
            """)
        let read = try items(path)
        #expect(read.map(\.id) == ["a", "2"])
        #expect(read.map(\.line) == [2, 3])
        #expect(try read[0].request.get().input == .url("/tmp/x.bin"))
        #expect(try read[1].request.get().input == .args(json: #"{"x": 1, "y": 2}"#))
    }

    @Test("a CSV row with both, neither or bad args is a bad row naming its line; the next rows still read")
    func csvBadRows() throws {
        let path = try inputFile(
            "in.csv", "url,args\n/a,{}\n,\n,{not json\n,[1]\n,{\"x\": 1}\n")
        let read = try items(path)
        #expect(read.count == 5)
        let reasons = read.prefix(4).map { item -> String in
            guard case .failure(let bad) = item.request else { return "no error" }
            return bad.description
        }
        #expect(reasons[0] == "bad input on line 2: both url and args are filled: give one")
        #expect(reasons[1] == "bad input on line 3: neither url nor args is filled: give one")
        #expect(reasons[2].hasPrefix("bad input on line 4: args is not valid JSON"))
        #expect(reasons[3].hasPrefix("bad input on line 5: \"args\" must be a JSON object"))
        #expect(try read[4].request.get().input == .args(json: #"{"x": 1}"#))
    }

    @Test("a CSV row with text after a closing quote is a bad row with its id and line; blank lines are skipped")
    func csvBadQuoting() throws {
        let path = try inputFile(
            "in.csv", "id,args\n\na,\"{\"\"x\"\": 1}\"junk\nb,\"{\"\"x\"\": 2}\"\n\r\nc,{\"x\": 3}\n\n")
        let read = try items(path)
        #expect(read.map(\.id) == ["a", "b", "c"])
        #expect(read.map(\.index) == [0, 1, 2])
        #expect(read.map(\.line) == [3, 4, 6])
        guard case .failure(let bad) = read[0].request else {
            Issue.record("a row with text after a closing quote read as a request")
            return
        }
        #expect(
            bad.description
                == "bad input on line 3: a quoted field has text after its closing quote (a quote inside a quoted "
                + "field is written twice: \"\")")
        #expect(try read[1].request.get().input == .args(json: #"{"x": 2}"#))
        #expect(try read[2].request.get().input == .args(json: #"{"x": 3}"#))
        let header = try inputFile("header.csv", "id,\"args\"x\n1,{}\n")
        #expect(throws: BatchInputError.self) { try items(header) }
    }

    @Test("a CSV without a url or args column cannot be read")
    func csvWithoutColumns() throws {
        let path = try inputFile("in.csv", "name,value\na,1\n")
        #expect(throws: BatchInputError.self) { try items(path) }
    }

    @Test("JSON Lines: each line a request body, its id or the line number, blank lines skipped, bad lines named")
    func jsonLines() throws {
        let path = try inputFile(
            "in.jsonl",
            "{\"args\": {\"x\": 1}, \"id\": \"first\"}\n\n{\"url\": \"/tmp/a\"}\r\nnot json\n{\"args\": {}, \"id\": 7}")
        let read = try items(path, returnPickled: true)
        #expect(read.map(\.id) == ["first", "3", "4", "7"])
        #expect(read.map(\.index) == [0, 1, 2, 3])
        #expect(try read[0].request.get().returnPickled)
        #expect(try read[1].request.get().input == .url("/tmp/a"))
        guard case .failure(let bad) = read[2].request else {
            Issue.record("line 4 read as a request")
            return
        }
        #expect(bad.line == 4)
        #expect(bad.description.contains("not valid JSON"))
    }

    @Test("the format comes from the name, or must be given")
    func format() throws {
        #expect(try BatchInputFile(path: "a.CSV", format: nil).format == .csv)
        #expect(try BatchInputFile(path: "-", format: nil).format == .jsonl)
        #expect(throws: BatchInputError.self) { try BatchInputFile(path: "inputs.txt", format: nil) }
    }

    @Test("the digest counts the lines that hold something")
    func digest() throws {
        let path = try inputFile("in.jsonl", "{}\n  \n{}\n{}")
        let digest = try FileDigest.of([path])
        #expect(digest.lines == 3)
        #expect(digest.sha256.count == 64)
    }
}
