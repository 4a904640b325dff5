import Foundation
import JSONBytes
import Testing

@Suite("JSON text written by hand")
struct JSONTextTests {
    @Test("quoted strings read back unchanged, control characters escaped")
    func quotedStringsReadBack() throws {
        let texts = [
            "", "plain", "a \"quoted\" word", "back\\slash", "line\nbreak\r\ttab", "bell\u{07} nul\u{00} esc\u{1b}",
            "unicode é ✓ 🧪", "a/slash", "\u{7f} del",
        ]
        for text in texts {
            let quoted = JSONText.quote(text)
            let decoded = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: .fragmentsAllowed)
            #expect(decoded as? String == text, "\(quoted)")
        }
        #expect(JSONText.quote("tab\there") == #""tab\there""#)
        #expect(JSONText.quote("\u{01}") == #""\u0001""#)
    }

    @Test("an object keeps its members' order and leaves out nil ones")
    func objects() {
        #expect(JSONText.object(["b": "1", "a": nil, "c": "x\"y"]) == #"{"b":"1","c":"x\"y"}"#)
        #expect(JSONText.object(["a": nil]) == "{}")
    }

    @Test("every character that needs an escape, pinned byte for byte")
    func everyEscapePinned() {
        let controls = (0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }
        let text = String(controls) + "\"\\/\u{7f}é✓🧪"
        #expect(
            JSONText.quote(text)
                == #""\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\t\n\u000b\u000c\r\u000e\u000f"#
                + #"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f"#
                + "\\\"\\\\/\u{7f}é✓🧪\"")
        #expect(JSONText.quote("\r\n") == #""\r\n""#)
        #expect(JSONText.object(["k\"": "\r\n", "": ""]) == #"{"k\"":"\r\n","":""}"#)
    }
}
