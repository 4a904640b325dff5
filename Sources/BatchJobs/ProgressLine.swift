import Foundation

/// A progress bar as text: `[#####       ]`, for a terminal's line redrawn in place (`batch`,
/// `bench`).
public enum ProgressBar {
    /// The bar for `fraction` (0 to 1), `width` characters between its brackets.
    public static func render(_ fraction: Double, width: Int = 25) -> String {
        let filled = min(width, max(0, Int(fraction * Double(width))))
        return "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "]"
    }
}

extension BatchProgress.Snapshot {
    /// The line a terminal shows, redrawn in place: the bar and percentage when the total is
    /// known, done (of total), rate, ETA, failures.
    public var barLine: String {
        var parts: [String] = []
        if let fraction {
            parts.append("\(ProgressBar.render(fraction)) \(String(format: "%3d", Int(fraction * 100)))%")
        }
        parts.append(total.map { "\(done)/\($0)" } ?? "\(done) done")
        parts.append(String(format: "%.0f/s", rate))
        if let secondsLeft { parts.append("ETA \(Self.clock(secondsLeft))") }
        parts.append("failures \(failed)")
        return parts.joined(separator: "  ")
    }

    /// The line written every so often where stderr is not a terminal (a log, CI).
    public var plainLine: String {
        var text = "batch: \(done)"
        if let total, let fraction { text += "/\(total) done (\(Int(fraction * 100))%)" } else { text += " done" }
        text += String(format: ", %.0f/s", rate)
        if let secondsLeft { text += ", ETA \(Self.clock(secondsLeft))" }
        return text + ", \(failed) failed"
    }

    /// How much of the total is done, when the total is known.
    public var fraction: Double? {
        guard let total, total > 0 else { return nil }
        return min(1, Double(done) / Double(total))
    }

    /// `seconds` as `m:ss`, or `h:mm:ss` from an hour.
    static func clock(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded(.up))
        let (hours, minutes, rest) = (whole / 3600, whole / 60 % 60, whole % 60)
        return hours > 0
            ? String(format: "%d:%02d:%02d", hours, minutes, rest) : String(format: "%d:%02d", minutes, rest)
    }
}
