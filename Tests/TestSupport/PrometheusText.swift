/// A strict reader of the Prometheus text exposition format, for checking `/metrics`.
public enum PrometheusText {
    /// Every sample as `name{labels}` → value. Throws on a line that is neither a comment
    /// (`# HELP`/`# TYPE` with a known type) nor a `name{labels} value` sample.
    public static func parse(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# HELP ") { continue }
            if line.hasPrefix("# TYPE ") {
                let type = line.split(separator: " ").last.map(String.init) ?? ""
                guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(type) else {
                    throw FixtureError("unknown metric type in: \(line)")
                }
                continue
            }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                throw FixtureError("not a sample: \(line)")
            }
            let series = String(line[..<space])
            let name = series.prefix { $0 != "{" }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == ":" }) else {
                throw FixtureError("bad metric name in: \(line)")
            }
            if series.contains("{") {
                guard series.hasSuffix("}") else { throw FixtureError("unclosed labels in: \(line)") }
            }
            samples[series] = value
        }
        return samples
    }
}
