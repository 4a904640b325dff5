import Foundation
import Testing
import WorkerCore

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
}
