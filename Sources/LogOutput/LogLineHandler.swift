import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A `LogHandler` writing lines in `StreamLogHandler`'s layout through a ``LogLineWriter``:
/// `2026-12-07T02:30:50+0000 info launch-worker: key=value [Module] message`, metadata keys
/// sorted.
///
/// It differs from `StreamLogHandler` in what a line costs, not in what it says: the lines of
/// threads logging at once leave in one write (``LogLineWriter``; notices and worse are
/// written before `log` returns), and the timestamp is made once a second rather than for every
/// line (glibc's `localtime` and `strftime` look at `/etc/localtime` each time they are called;
/// `localtime_r`, used here, reads the time zone once, so a change of it while the process runs
/// is not seen).
public struct LogLineHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadataProvider: Logger.MetadataProvider?
    public var metadata = Logger.Metadata() {
        didSet { prettyMetadata = Self.prettify(metadata) }
    }

    private let label: String
    private let writer: LogLineWriter
    private var prettyMetadata: String?

    /// A handler for `label` writing to `writer`.
    public init(
        label: String, writer: LogLineWriter = .standardError,
        metadataProvider: Logger.MetadataProvider? = LoggingSystem.metadataProvider
    ) {
        self.label = label
        self.writer = writer
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var pretty = prettyMetadata
        let provided = metadataProvider?.get() ?? [:]
        if !provided.isEmpty || event.metadata?.isEmpty == false || event.error != nil {
            var merged = metadata
            merged.merge(provided) { _, provided in provided }
            merged.merge(event.metadata ?? [:]) { _, explicit in explicit }
            if let error = event.error {
                merged["error.message"] = "\(error)"
                merged["error.type"] = "\(String(reflecting: type(of: error)))"
            }
            pretty = Self.prettify(merged)
        }
        var line = Timestamp.now()
        line += " \(event.level)"
        if !label.isEmpty { line += " \(label)" }
        line += ":"
        if let pretty { line += " \(pretty)" }
        line += " [\(event.source)] \(event.message)\n"
        writer.append(line.utf8, urgent: event.level >= .notice)
    }

    private static func prettify(_ metadata: Logger.Metadata) -> String? {
        metadata.isEmpty ? nil : metadata.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")
    }
}

/// The local time to the second as `2026-12-07T02:30:50+0000`, made again only when the second
/// changes.
enum Timestamp {
    private static let cache = Mutex<(second: time_t, text: String)>((-1, ""))

    static func now() -> String {
        let second = time(nil)
        if let text = cache.withLock({ $0.second == second ? $0.text : nil }) { return text }
        var parts = tm()
        var seconds = second
        var buffer = [CChar](repeating: 0, count: 64)
        guard localtime_r(&seconds, &parts) != nil, strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts) > 0
        else { return "<unknown>" }
        let text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        cache.withLock { $0 = (second, text) }
        return text
    }
}
