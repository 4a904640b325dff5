import WorkerCore

/// One input of a batch, read from its file: where it is, its id, and the request it makes or
/// why its row makes none.
public struct BatchItem: Sendable {
    /// Its place among the batch's inputs, from 0: what the journal records it by.
    public var index: Int
    /// Where it is in the input, for messages: the line of a JSON Lines file, the CSV line
    /// counted with the header as line 1.
    public var line: Int
    /// Its `id`: the input's own, else its row number (from 1).
    public var id: String
    /// The request, or why the row is bad (answered FAILURE without running).
    public var request: Result<PredictRequest, BadRow>

    /// An item from its parts.
    public init(index: Int, line: Int, id: String, request: Result<PredictRequest, BadRow>) {
        self.index = index
        self.line = line
        self.id = id
        self.request = request
    }
}

/// An input's result as the output folder records it: what the journal and the result line
/// need of the input, and the response.
struct BatchResult {
    /// The input's place (``BatchItem/index``).
    var index: Int
    /// The input's id.
    var id: String
    /// Its response.
    var response: TaskResponse

    /// `item`'s result, `response`.
    init(_ item: BatchItem, _ response: TaskResponse) {
        self.index = item.index
        self.id = item.id
        self.response = response
    }
}

/// Why a row of the input makes no request, naming its line and the problem.
public struct BadRow: Error, Sendable, CustomStringConvertible {
    /// The line it is on.
    public var line: Int
    /// What is wrong with it.
    public var reason: String

    /// A bad row on `line`.
    public init(line: Int, _ reason: String) {
        self.line = line
        self.reason = reason
    }

    public var description: String { "bad input on line \(line): \(reason)" }
}

/// An input that cannot be read on (a file that cannot be opened or read, text that is not
/// UTF-8, a CSV header without a `url` or `args` column): the batch stops, exit 2.
public struct BatchInputError: Error, Sendable, CustomStringConvertible {
    /// What is wrong, naming the file and, where known, the line.
    public var message: String

    /// An error with its message.
    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// Where a batch's inputs come from, one at a time, never the whole file in memory.
public protocol BatchInputReader {
    /// The next input, or nil at the end.
    ///
    /// - Throws: ``BatchInputError`` when the input cannot be read on.
    mutating func next() throws(BatchInputError) -> BatchItem?
}
