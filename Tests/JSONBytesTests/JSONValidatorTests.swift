import Foundation
import JSONBytes
import Testing

@Suite("Validating JSON without parsing it")
struct JSONValidatorTests {
    /// Whether Foundation's `JSONSerialization`, default options, reads `bytes`.
    private static func foundationAccepts(_ bytes: [UInt8]) -> Bool {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) != nil
    }

    /// `depth` times `open`, `inner`, then `depth` times `close`.
    private static func nested(_ open: String, _ close: String, _ depth: Int, around inner: String = "") -> String {
        String(repeating: open, count: depth) + inner + String(repeating: close, count: depth)
    }

    /// Documents that both the validator and Foundation accept.
    static let valid: [String] = [
        "{}", "[]", " { } ", "[ ]", "\t\r\n[1]\n", #"{"a": [{}]}"#, "[-0]", "[0]", "[1E+2]", "[0.0e-0]", "[1e5]",
        "[-1.25E-3]", "[1e05]", "[123456789012345678901234567890]", "[1e-400]", "[1.7976931348623157e308]",
        #"["\u00e9", "\uD83D\uDE00", "\udbff\udfff"]"#, #"{"\u0061rgs": 1, "a\"b": 2}"#,
        #"["\"\\\/\b\f\n\r\t", "\u0000", "/"]"#, "[\"caf\u{e9} \u{1F600} \u{7F}\"]", "[true, false, null]",
        #"{"a": 1, "a": 2}"#, #"{"args": {"x": 1}}"#,
    ]

    /// Documents that both reject.
    static let invalid: [String] = [
        "", " ", "1", "\"a\"", "null", "true", "[01]", "[-01]", "[1.]", "[.5]", "[-]", "[1e]", "[1e+]", "[+1]",
        "[0x10]", "[1.5.3]", "[0.e1]", "[-.5]", "[NaN]", "[Infinity]", "[-Infinity]", "[1e400]", "[-1e400]",
        "[1E400]", nested("[", "]", 1, around: String(repeating: "9", count: 400)), "['a']", #"{'a': 1}"#, "[1]//c",
        "/*c*/[1]",
        "[1] // c", "{} x", "{}{}", "[]]", "[1 2]", #"{"a" 1}"#, "{1: 2}", #"{"a": 1 "b": 2}"#, "[,]", "[,1]",
        "[1,,2]", #"{,"a": 1}"#, #"{"a"}"#, #"{"a": }"#, "[tru]", "[True]", "[nul]", "[truex]", "[1true]",
        #"["a""b"]"#, "[\"\\x\"]", "[\"\\u12\"]", "[\"\\u12", "[\"\\u00G0\"]", "[\"\\U0041\"]", "[\"\\ud800\"]",
        "[\"\\udc00\"]", "[\"\\uD800\\u0041\"]", "[\"\\ud800\\\"]", "[\"\\ud800\\ud800\"]", "[\"abc", "[\"abc\\",
        "{\"a\": 1", "[1", "[", "{", "[\u{0C}1]", "\u{0C}[1]", "[1]\u{0B}", "[\"tab\there\"]", "[\"a\nb\"]",
    ]

    /// Bytes that are not UTF-8, and raw control characters, where both reject.
    static let invalidBytes: [[UInt8]] = [
        [0x5B, 0x22, 0xFF, 0x22, 0x5D],  // a byte never in UTF-8
        [0x5B, 0x22, 0xC0, 0x80, 0x22, 0x5D],  // overlong NUL
        [0x5B, 0x22, 0xE0, 0x80, 0xAF, 0x22, 0x5D],  // overlong "/"
        [0x5B, 0x22, 0xED, 0xA0, 0x80, 0x22, 0x5D],  // a surrogate encoded
        [0x5B, 0x22, 0xE2, 0x82, 0x22, 0x5D],  // truncated sequence
        [0x5B, 0x22, 0xF4, 0x90, 0x80, 0x80, 0x22, 0x5D],  // above U+10FFFF
        [0x5B, 0x22, 0x80, 0x22, 0x5D],  // a lone continuation byte
        [0x5B, 0x22, 0xC3, 0x22, 0x5D],  // a lead byte then the closing quote
        [0x5B, 0xC3, 0xA9, 0x5D],  // UTF-8 outside a string
        [0x5B, 0x31, 0x5D, 0xFF],  // garbage after the value
        [0x5B, 0x22, 0x01, 0x22, 0x5D],  // raw control character
        [0x5B, 0x22, 0x1F, 0x22, 0x5D],
        [0x5B, 0x22, 0x00, 0x22, 0x5D],
        [0x5B, 0x31, 0x5D, 0x00],  // NUL after the value
    ]

    @Test("the validator and Foundation accept the same documents", arguments: valid)
    func acceptsWhatFoundationAccepts(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(Self.foundationAccepts(bytes), "\(text.prefix(80))")
        #expect(JSONValidator.isValid(bytes), "\(text.prefix(80))")
        #expect(JSONValidator.firstInvalidByte(in: bytes) == nil)
    }

    @Test("the validator and Foundation reject the same documents", arguments: invalid)
    func rejectsWhatFoundationRejects(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(!Self.foundationAccepts(bytes), "\(text.prefix(80))")
        #expect(!JSONValidator.isValid(bytes), "\(text.prefix(80))")
    }

    @Test("nesting stops at Foundation's depth, and no depth overflows the stack")
    func deepNesting() {
        let documents = [
            (Self.nested("[", "]", 512), true), (Self.nested(#"{"a":"#, "}", 511, around: "{}"), true),
            (Self.nested("[", "]", 513), false), (Self.nested(#"{"a":"#, "}", 512, around: "{}"), false),
            (Self.nested("[", "", 10_000), false), (Self.nested("[", "]", 10_000), false),
            (Self.nested(#"{"a":"#, "", 10_000), false), (Self.nested("[", "]", 1_000_000), false),
        ]
        for (text, valid) in documents {
            let bytes = Array(text.utf8)
            #expect(JSONValidator.isValid(bytes) == valid, "\(text.prefix(20)), \(text.utf8.count) bytes")
            #expect(Self.foundationAccepts(bytes) == valid, "\(text.prefix(20)), \(text.utf8.count) bytes")
        }
    }

    @Test("invalid UTF-8 and raw control characters are rejected, as by Foundation", arguments: invalidBytes)
    func rejectsBytesFoundationRejects(_ bytes: [UInt8]) {
        #expect(!Self.foundationAccepts(bytes))
        #expect(!JSONValidator.isValid(bytes))
    }

    @Test("UTF-8 of every length inside strings is accepted")
    func acceptsUTF8() {
        for scalar in ["\u{80}", "\u{7FF}", "\u{800}", "\u{FFFD}", "\u{E000}", "\u{FFFF}", "\u{10000}", "\u{10FFFF}"] {
            let bytes = Array("[\"a\(scalar)b\"]".utf8)
            #expect(Self.foundationAccepts(bytes))
            #expect(JSONValidator.isValid(bytes), "\(bytes)")
        }
    }

    @Test(
        "stricter than Foundation, as the RFC is: trailing commas, a byte order mark, UTF-16",
        arguments: [
            Array("[1,]".utf8), Array(#"{"a": 1,}"#.utf8), Array("[1 , ]".utf8), Array(#"{"args": {"x": 1,}}"#.utf8),
            [0xEF, 0xBB, 0xBF] + Array("[1]".utf8),
            [0x5B, 0x00, 0x31, 0x00, 0x5D, 0x00],  // UTF-16LE "[1]"
            [0x00, 0x7B, 0x00, 0x7D],  // UTF-16BE "{}"
            // Foundation checks only the numbers it keeps: this one is overwritten by its duplicate.
            Array(#"{"a": 1e400, "a": 1}"#.utf8),
        ])
    func stricterThanFoundation(_ bytes: [UInt8]) {
        #expect(Self.foundationAccepts(bytes))
        #expect(!JSONValidator.isValid(bytes))
    }

    @Test("the first invalid byte is where the text stops being JSON")
    func offsets() {
        let cases: [(String, Int?)] = [
            (#"{"a": [1, 2]}"#, nil), (#"{"a": 01}"#, 7), ("[1,]", 3), (#"{"a": 1} x"#, 9), ("[", 1), ("", 0),
            ("7", 0), (#"["\x"]"#, 3), ("[1e400]", 1), ("[\"a\u{01}\"]", 3),
            (String(repeating: "[", count: 600), JSONValidator.maximumDepth),
        ]
        for (text, offset) in cases {
            #expect(JSONValidator.firstInvalidByte(in: Array(text.utf8)) == offset, "\(text.prefix(20))")
        }
    }
}
