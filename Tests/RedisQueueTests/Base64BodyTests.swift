import Foundation
import Testing

@testable import RedisQueue

@Suite struct Base64BodyTests {
    /// SplitMix64: the same inputs on every run.
    private struct Generator: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// What the body was before: Foundation's decoding of the text as a `String`.
    private func foundation(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text, options: .ignoreUnknownCharacters), !data.isEmpty || text.isEmpty
        else { return nil }
        return Array(data)
    }

    @Test func bodiesDecodeAsFoundationDecodesTheirText() async {
        var random = Generator(state: 1)
        for count in 0..<200 {
            let bytes = (0..<count % 70).map { _ in UInt8.random(in: 0...255, using: &random) }
            #expect(Base64Body.decode(Array(Data(bytes).base64EncodedString().utf8)[...]) == bytes)
        }
        let alphabet = Array("ABCQRSTVWXYZabqrz0189+/====  \n%-_".utf8)
        for round in 0..<20_000 {
            // Seconds of work on a busy machine: other tests get the cooperative threads now and then.
            if round % 500 == 0 { await Task.yield() }
            let count = Int.random(in: 0...13, using: &random)
            let text = String(decoding: (0..<count).map { _ in alphabet.randomElement(using: &random)! }, as: UTF8.self)
            #expect(Base64Body.decode(Array(text.utf8)[...]) == foundation(text), "\(text.debugDescription)")
        }
        for text in ["QR==", "QUJ=", "QQ==", "Q===", "QQ=", "QQ", "====", "QUJDQQ==QUJD", "QU JD", "=QUJD", "", "%"] {
            #expect(Base64Body.decode(Array(text.utf8)[...]) == foundation(text), "\(text.debugDescription)")
        }
    }
}
