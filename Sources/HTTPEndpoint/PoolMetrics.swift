import Foundation

/// `/metrics` of a worker process in a pool (`serve --processes`), the same whichever process a
/// scrape reaches: every process's series, each labelled `process="INDEX"`, then the pool's
/// gauges (processes wanted, alive and ready; restarts).
///
/// Each process labels its own series and leaves them in a file of the pool's folder every
/// ``publishInterval``; the process answering a scrape merges its live series with its siblings'
/// files (at most that old) and the gauges' file the supervisor keeps, one family at a time, as
/// the text format requires.
public struct PoolMetrics: Sendable {
    /// How often a process leaves its series for its siblings.
    public static let publishInterval = Duration.seconds(1)

    /// The process's place in the pool.
    public var processIndex: Int
    /// The pool's folder: the gauges' file (`pool.prom`) and each process's (`process-I.prom`).
    public var folder: String

    public init(processIndex: Int, folder: String) {
        self.processIndex = processIndex
        self.folder = folder
    }

    /// The pool's `/metrics`, with `own` (this process's live series, unlabelled).
    func text(_ own: String) -> String {
        var merged = MetricFamilies()
        merged.add(labelled(own))
        let siblings = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        for file in siblings.sorted()
        where file.hasPrefix("process-") && file.hasSuffix(".prom") && file != ownFile {
            merged.add((try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8)) ?? "")
        }
        merged.add((try? String(contentsOfFile: "\(folder)/pool.prom", encoding: .utf8)) ?? "")
        return merged.text
    }

    /// How many of the pool's worker processes are ready, from the gauges' file the supervisor
    /// keeps (at most a tick old); nil when it cannot be read.
    var readyProcesses: Int? {
        guard let gauges = try? String(contentsOfFile: "\(folder)/pool.prom", encoding: .utf8) else { return nil }
        let sample = #"launch_worker_pool_processes{state="ready"} "#
        guard let line = gauges.split(separator: "\n").first(where: { $0.hasPrefix(sample) }) else { return nil }
        return Int(line.dropFirst(sample.count))
    }

    /// Leaves this process's labelled series for its siblings.
    public func publish(_ own: String) {
        try? Data(labelled(own).utf8).write(to: URL(filePath: "\(folder)/\(ownFile)"), options: .atomic)
    }

    private var ownFile: String { "process-\(processIndex).prom" }

    /// `text` with `process="INDEX"` added to every sample.
    private func labelled(_ text: String) -> String {
        let label = "process=\"\(processIndex)\""
        return text.split(separator: "\n").map { line -> String in
            guard !line.hasPrefix("#"), let space = line.firstIndex(of: " ") else { return String(line) }
            let name = line[..<space]
            guard let brace = name.firstIndex(of: "{") else { return "\(name){\(label)}\(line[space...])" }
            let rest = line[line.index(after: brace)...]
            return "\(line[...brace])\(label)\(rest.hasPrefix("}") ? "" : ",")\(rest)"
        }.joined(separator: "\n")
    }
}

/// Prometheus text from several sources, each family once (its `# HELP` and `# TYPE` from the
/// first source that has it), with every source's samples under it.
private struct MetricFamilies {
    private var order: [String] = []
    private var families: [String: (comments: [String], samples: [String])] = [:]

    mutating func add(_ text: String) {
        var current = ""
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 3)
            if line.hasPrefix("# "), parts.count >= 3, parts[1] == "HELP" || parts[1] == "TYPE" {
                current = String(parts[2])
                if families[current] == nil {
                    order.append(current)
                    families[current] = ([], [])
                }
                if !(families[current]?.comments.contains { $0.hasPrefix("# \(parts[1]) ") } ?? true) {
                    families[current]?.comments.append(String(line))
                }
            } else if !line.hasPrefix("#") {
                if families[current] == nil {
                    order.append(current)
                    families[current] = ([], [])
                }
                families[current]?.samples.append(String(line))
            }
        }
    }

    var text: String {
        order.map { name in
            let family = families[name]!
            return (family.comments + family.samples).joined(separator: "\n")
        }.joined(separator: "\n") + "\n"
    }
}
