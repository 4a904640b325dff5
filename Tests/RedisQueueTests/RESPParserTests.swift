import Testing

@testable import RedisQueue

@Suite struct RESPParserTests {
    let parser = RESPParser()

    private func parse(_ text: String) throws -> RESPValue? {
        try parser.parse(Array(text.utf8))?.value
    }

    @Test func parsesEveryRESP2Type() throws {
        #expect(try parse("+OK\r\n") == .simpleString("OK"))
        #expect(try parse("-ERR wrong\r\n") == .error("ERR wrong"))
        #expect(try parse(":-42\r\n") == .integer(-42))
        #expect(try parse("$5\r\nhe\r\no\r\n") == .bulkString(Array("he\r\no".utf8)))
        #expect(try parse("$0\r\n\r\n") == .bulkString([]))
        #expect(try parse("$-1\r\n") == .null)
        #expect(try parse("*-1\r\n") == .null)
        #expect(try parse("*2\r\n$1\r\na\r\n*1\r\n:1\r\n") == .array([.bulkString([97]), .array([.integer(1)])]))
    }

    @Test func parsesEveryRESP3Type() throws {
        #expect(try parse("_\r\n") == .null)
        #expect(try parse("#t\r\n") == .boolean(true))
        #expect(try parse(",1.5\r\n") == .double(1.5))
        #expect(try parse(",-inf\r\n") == .double(-.infinity))
        #expect(
            try parse("(3492890328409238509324850943850943825024385\r\n")
                == .bigNumber("3492890328409238509324850943850943825024385"))
        #expect(try parse("=7\r\ntxt:abc\r\n") == .verbatimString(format: "txt", text: Array("abc".utf8)))
        #expect(try parse("!5\r\nERR x\r\n") == .error("ERR x"))
        #expect(try parse("%1\r\n+a\r\n:1\r\n") == .map([RESPPair(key: .simpleString("a"), value: .integer(1))]))
        #expect(try parse("~1\r\n:1\r\n") == .set([.integer(1)]))
        #expect(try parse(">2\r\n+message\r\n+x\r\n") == .push([.simpleString("message"), .simpleString("x")]))
        // An attribute is skipped: the reply is what follows it.
        #expect(try parse("|1\r\n+ttl\r\n:3\r\n:7\r\n") == .integer(7))
    }

    @Test func reportsHowManyBytesAValueTook() throws {
        let bytes = Array("+OK\r\n:1\r\n".utf8)
        let first = try #require(try parser.parse(bytes))
        #expect(first.value == .simpleString("OK"))
        #expect(first.length == 5)
        #expect(try parser.parse(Array(bytes[5...]))?.value == .integer(1))
    }

    @Test func incompleteInputIsNotAnError() throws {
        let whole = "*3\r\n$3\r\nfoo\r\n:12\r\n%1\r\n+k\r\n$2\r\nvv\r\n"
        for end in 0..<whole.utf8.count {
            #expect(try parser.parse(Array(whole.utf8.prefix(end))) == nil, "prefix of \(end) bytes")
        }
        #expect(try parse(whole) != nil)
    }

    @Test func rejectsBytesThatAreNotRESP() {
        for bad in ["?x\r\n", ":12a\r\n", "$abc\r\n", "$3\r\nabcd\r\n", "#x\r\n", "+a\rb\r\n", "*-2\r\n"] {
            #expect(throws: RESPError.self, "\(bad.debugDescription)") { try parse(bad) }
        }
    }

    @Test func refusesNestingDeeperThanTheLimit() {
        var parser = RESPParser()
        parser.maximumDepth = 3
        let deep = String(repeating: "*1\r\n", count: 5) + ":1\r\n"
        #expect(throws: RESPError.self) { try parser.parse(Array(deep.utf8)) }
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() {
        #expect(
            RedisCommand("SET", "k", "v\r\n").encoded() == Array("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nv\r\n\r\n".utf8))
        #expect(RedisCommand(bytes: [[], [0xFF]]).encoded() == Array("*2\r\n$0\r\n\r\n$1\r\n".utf8) + [0xFF, 13, 10])
        // Counts of several digits, each a power of ten and one below.
        for count in [9, 10, 99, 100, 1009, 10_000] {
            let command = RedisCommand(
                bytes: Array(repeating: [], count: count - 1) + [Array(repeating: 0x61, count: count)])
            let expected =
                "*\(count)\r\n" + String(repeating: "$0\r\n\r\n", count: count - 1)
                + "$\(count)\r\n\(String(repeating: "a", count: count))\r\n"
            #expect(command.encoded() == Array(expected.utf8))
        }
    }

    @Test func encodedCommandsParseBack() throws {
        let command = RedisCommand("LPUSH", "queue\u{06}\u{16}3", "{\"body\": \"é\"}")
        let parsed = try #require(try parser.parse(command.encoded()))
        #expect(parsed.value == .array(command.arguments.map { .bulkString($0) }))
    }
}
