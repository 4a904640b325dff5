import BatchJobs
import Foundation

/// What a benchmark run measured, printed as a table or as one JSON object.
struct BenchReport: Codable {
    var bundle: String
    var via: String
    var perWorker: Int
    var concurrency: Int
    /// Process start to ready (bundle loaded, front end serving), in milliseconds.
    var coldStartMilliseconds: Double
    var requests: Int
    var seconds: Double
    var requestsPerSecond: Double
    var latencyMilliseconds: Latency
    /// Failed requests by kind (`FAILURE`, `TIMEOUT`, `HTTP 429`, ...).
    var errors: [String: Int]
    var peakRSSBytes: Int

    /// Latency percentiles in milliseconds.
    struct Latency: Codable {
        var p50: Double
        var p90: Double
        var p99: Double
        var max: Double

        init(_ samples: [Duration]) {
            let sorted = samples.map { Double($0.components.seconds) * 1e3 + Double($0.components.attoseconds) * 1e-15 }
                .sorted()
            func at(_ fraction: Double) -> Double {
                sorted.isEmpty
                    ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * fraction).rounded(.up)) - 1)]
            }
            p50 = at(0.5)
            p90 = at(0.9)
            p99 = at(0.99)
            max = sorted.last ?? 0
        }
    }

    enum CodingKeys: String, CodingKey {
        case bundle, via, concurrency, requests, seconds, errors
        case perWorker = "per_worker"
        case coldStartMilliseconds = "cold_start_ms"
        case requestsPerSecond = "requests_per_second"
        case latencyMilliseconds = "latency_ms"
        case peakRSSBytes = "peak_rss_bytes"
    }

    /// One JSON object, keys sorted.
    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// A few aligned lines for people.
    func table() -> String {
        let failed =
            errors.isEmpty
            ? "none"
            : errors.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                .joined(separator: ", ")
        return """
            bundle        \(bundle) via \(via), per_worker \(perWorker), concurrency \(concurrency)
            cold start    \(format(coldStartMilliseconds)) ms (process start to ready)
            throughput    \(format(requestsPerSecond)) requests/s (\(requests) in \(format(seconds)) s)
            latency       p50 \(format(latencyMilliseconds.p50)) ms, p90 \(format(latencyMilliseconds.p90)) ms, \
            p99 \(format(latencyMilliseconds.p99)) ms, max \(format(latencyMilliseconds.max)) ms
            errors        \(failed)
            peak RSS      \(peakRSSBytes / (1 << 20)) MiB
            """
    }

    private func format(_ value: Double) -> String {
        String(format: value >= 100 ? "%.0f" : "%.2f", value)
    }
}

/// Facts about this process read from /proc.
enum ProcessFacts {
    /// Time since this process started, from /proc/self/stat's start time and /proc/uptime.
    static func sinceStart() -> Duration {
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
            let uptimeText = try? String(contentsOfFile: "/proc/uptime", encoding: .utf8),
            let afterName = stat.lastIndex(of: ")"),
            let uptime = Double(uptimeText.split(separator: " ").first ?? "")
        else { return .zero }
        // Fields after the command name start at field 3; the start time is field 22.
        let fields = stat[stat.index(after: afterName)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return .zero }
        let started = ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        return .milliseconds(max(0, (uptime - started) * 1000))
    }

    /// The most resident memory this process has used (VmHWM), in bytes.
    static func peakRSS() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}

/// Shows progress on stderr: a bar redrawn in place on a terminal, a line per 10% otherwise.
final class BenchProgress: @unchecked Sendable {
    // Only `tick` mutates, under `lock`.
    private let lock = NSLock()
    private let total: Int?
    private let duration: Duration?
    private let start = ContinuousClock.now
    private let terminal = isatty(STDERR_FILENO) != 0
    private var done = 0
    private var lastShown = -1

    init(total: Int?, duration: Duration?) {
        self.total = total
        self.duration = duration
    }

    /// Records one finished request and redraws when the shown percentage changed.
    func tick() {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        let elapsed = ContinuousClock.now - start
        let fraction: Double
        if let total {
            fraction = Double(done) / Double(total)
        } else if let duration {
            fraction = min(1, elapsed / duration)
        } else {
            return
        }
        let percent = Int(fraction * 100)
        let step = terminal ? percent : percent / 10 * 10
        guard step != lastShown else { return }
        lastShown = step
        draw(percent: percent, elapsed: elapsed)
    }

    /// Ends the bar's line on a terminal, with the final count (requests that finished after
    /// the bar reached 100% included), so that the report starts on a line of its own.
    func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard terminal, lastShown >= 0 else { return }
        draw(percent: lastShown, elapsed: ContinuousClock.now - start)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    /// Writes the bar; the caller holds `lock`.
    private func draw(percent: Int, elapsed: Duration) {
        let rate = Double(done) / max(elapsed / .seconds(1), 1e-9)
        let text = String(
            format: "%@ %3d%%  %d requests  %.0f/s", ProgressBar.render(Double(percent) / 100), percent, done, rate)
        // On a terminal: back to the line's start, the bar, then erase what a longer bar left.
        FileHandle.standardError.write(Data((terminal ? "\r\(text)\u{1B}[K" : "\(text)\n").utf8))
    }
}
