/// Which inputs of a batch are done, by index: one bit each, so a million inputs cost 125 KB.
public struct DoneSet: Sendable, Equatable {
    private var words: [UInt64] = []
    /// How many are done.
    public private(set) var count = 0

    /// An empty set.
    public init() {}

    /// Whether input `index` is done.
    public func contains(_ index: Int) -> Bool {
        let word = index >> 6
        return word < words.count && words[word] & (1 << UInt64(index & 63)) != 0
    }

    /// Marks input `index` done; false when it already was.
    @discardableResult
    public mutating func insert(_ index: Int) -> Bool {
        let word = index >> 6
        if word >= words.count { words.append(contentsOf: repeatElement(0, count: word - words.count + 1)) }
        let bit: UInt64 = 1 << UInt64(index & 63)
        guard words[word] & bit == 0 else { return false }
        words[word] |= bit
        count += 1
        return true
    }
}
