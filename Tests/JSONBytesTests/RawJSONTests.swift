import Foundation
import JSONBytes
import Testing

@Suite("Finding a member's raw JSON text")
struct RawJSONTests {
    private func find(_ name: String, _ json: String) -> String? {
        let bytes = Array(json.utf8)
        return RawJSON.member(name, of: bytes).map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    @Test("values of every kind, nested, with strings holding brackets and quotes")
    func kinds() {
        let json = #"{ "a" : {"s": "}]\"{", "l": [1, [2, {"b": null}]]} , "b": -1.5e3, "c": "x\"y", "d": true }"#
        #expect(find("a", json) == #"{"s": "}]\"{", "l": [1, [2, {"b": null}]]}"#)
        #expect(find("b", json) == "-1.5e3")
        #expect(find("c", json) == #""x\"y""#)
        #expect(find("d", json) == "true")
        #expect(find("e", json) == nil)
    }

    @Test("escaped keys are decoded, and the last duplicate wins as with JSON parsers")
    func keys() {
        #expect(find("args", #"{"\u0061rgs": 1}"#) == "1")
        #expect(find("args", #"{"args": 1, "args": [2]}"#) == "[2]")
    }

    @Test func membersAreFoundOnlyInAWholeObject() throws {
        let members = try #require(RawJSON.members(of: Array(#" {"a": [1, {"b": "}"}], "c\"d": null} "#.utf8)[...]))
        #expect(members.map(\.key) == ["a", "c\"d"])
        for text in [#"{"a": 1"#, #"{"a": 1} x"#, #"{"a": }"#, #"{"a" 1}"#, "[1]", #"{"a": 1,}"#, ""] {
            #expect(RawJSON.members(of: Array(text.utf8)[...]) == nil, "\(text)")
        }
        #expect(RawJSON.members(of: Array("{ }".utf8)[...])?.isEmpty == true)
        let array = Array(#" [1, "]", {"a": [2]}, null] "#.utf8)
        #expect(
            RawJSON.elements(of: array[...])?.map { String(decoding: array[$0], as: UTF8.self) } == [
                "1", #""]""#, #"{"a": [2]}"#, "null",
            ])
        for text in ["[1, 2", "[1,]", "[1] 2", "[,]", "{}"] {
            #expect(RawJSON.elements(of: Array(text.utf8)[...]) == nil, "\(text)")
        }
    }

    @Test func anObjectReadsEachMemberAsTheTypeAskedFor() throws {
        let object = try #require(
            RawJSON.Object(
                Array(
                    #"{"s": "caf\u00e9 \"x\"", "n": 42, "t": true, "o": {"i": "x"}, "s": "last", "f": 1.5}"#.utf8)[...])
        )
        #expect(object.string("s") == "last")
        #expect(object.int("n") == 42)
        #expect(object.int("f") == nil)
        #expect(object.bool("t") == true)
        #expect(object.bool("n") == nil)
        #expect(object.string("n") == nil)
        #expect(object.object("o")?.string("i") == "x")
        #expect(object.object("s") == nil)
        #expect(object[raw: "missing"] == nil)
        #expect(RawJSON.string(Array(#""caf\u00e9""#.utf8)[...]) == "café")
    }

    @Test func slicesAreReadInTheirOwnIndices() throws {
        let bytes = Array(#"xx{"a\\": "b\\\"c", "k": [1, "\\"], "k": 2}yy[3, {"d": 4}]"#.utf8)
        let close = try #require(bytes.firstIndex(of: UInt8(ascii: "}")).map { $0 + 1 })
        let object = try #require(RawJSON.Object(bytes[2..<close]))
        #expect(object[raw: "a\\"].map { String(decoding: $0, as: UTF8.self) } == #""b\\\"c""#)
        #expect(object.string("a\\") == "b\\\"c")
        #expect(object.int("k") == 2)
        #expect(object.members.map(\.key) == ["a\\", "k", "k"])
        let array = bytes[(close + 2)...]
        #expect(
            RawJSON.elements(of: array)?.map { String(decoding: bytes[$0], as: UTF8.self) } == ["3", #"{"d": 4}"#])
        #expect(RawJSON.string(bytes[3..<8]) == "a\\")
    }

    @Test func stringsAreReadAsTheyDecode() {
        func string(_ text: String) -> String? {
            RawJSON.stringBytes(Array(text.utf8)[...]).map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(string(#""plain""#) == "plain")
        #expect(string(#""""#) == "")
        #expect(string(#""caf\u00e9 \"\\ \/""#) == "café \"\\ /")
        #expect(string(#""café""#) == "café")
        #expect(string(#""\x""#) == nil)
        #expect(string("\"\u{01}\"") == "\u{01}")
        #expect(RawJSON.stringBytes([0x22, 0xFF, 0x22][...]) == nil)
        #expect(RawJSON.string([0x22, 0xFF, 0x22][...]) == nil)
        #expect(string("plain") == nil)
        let member = Array(#"{"k": "v"}"#.utf8)
        #expect(RawJSON.stringBytes(member[6..<9]) == member[7..<8])
        #expect(RawJSON.text(Array("null".utf8)[...], is: "null"))
        #expect(!RawJSON.text(Array("null ".utf8)[...], is: "null"))
        #expect(!RawJSON.text([][...], is: "null"))
    }

    @Test func membersAreFoundByDecodedKeys() {
        let json = Array(#"{"args": 1, "\u0061rgs": 2, "café": 3, "cafe\u0301": 4, "\x": 5, "K": 6}"#.utf8)
        func value(_ name: String) -> String? {
            RawJSON.member(name, of: json).map { String(decoding: json[$0], as: UTF8.self) }
        }
        #expect(value("args") == "2")
        #expect(value("café") == "4")
        #expect(value("") == "5")
        #expect(value("K") == "6")
        #expect(value("\u{212A}") == "6")
        #expect(value("k") == nil)
    }

    @Test func aStringMemberIsComparedAsStringsCompare() throws {
        let object = try #require(
            RawJSON.Object(Array(#"{"a": "base64", "e": "caf\u00e9", "k": "\u212a", "n": 1, "a": "base64"}"#.utf8)[...])
        )
        #expect(object.string("a", is: "base64"))
        #expect(!object.string("a", is: "base6"))
        #expect(object.string("e", is: "café"))
        #expect(object.string("k", is: "K"))
        #expect(!object.string("n", is: "1"))
        #expect(!object.string("missing", is: ""))
    }

    @Test func bytesThatAreNotJSONNeverTrap() {
        for text in [#"{"a": "\"#, #"{"a": "x\"#, #"{"\"#, "{", #"{"a": [[[}"#, #""\"#] {
            #expect(RawJSON.members(of: Array(text.utf8)[...]) == nil, "\(text)")
            #expect(RawJSON.elements(of: Array(text.utf8)[...]) == nil, "\(text)")
            _ = RawJSON.string(Array(text.utf8)[...])
        }
    }
}
