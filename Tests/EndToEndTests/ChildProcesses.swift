import Foundation

/// A process another one started, known by its id and its start time, so that an id the
/// kernel has handed to a new process since (ids wrap at 32768 here) is not taken for it.
struct ChildProcess: CustomStringConvertible {
    let pid: pid_t
    private let startTime: Substring?

    init(_ pid: pid_t) {
        self.pid = pid
        startTime = Self.stat(pid).map { $0.dropFirst(19).first } ?? nil
    }

    /// Whether it is live (neither gone, nor a zombie waiting to be reaped, nor another
    /// process with its id).
    var isRunning: Bool {
        guard let fields = Self.stat(pid), fields.dropFirst(19).first == startTime else { return false }
        return fields.first != "Z"
    }

    /// How many threads it has now (0 once gone).
    var threadCount: Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0
    }

    /// Its threads' names, as `ps -L` shows them.
    var threadNames: Set<String> {
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return Set(
            threads.compactMap { thread in
                (try? String(contentsOfFile: "/proc/\(pid)/task/\(thread)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .newlines)
            })
    }

    /// Its state and where it waits, from /proc, for a failure's message.
    var description: String {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? "gone"
        let wanted = status.split(separator: "\n").filter { $0.hasPrefix("State:") || $0.hasPrefix("PPid:") }
        let wchan = (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8)) ?? "?"
        return "pid \(pid) (\(wanted.joined(separator: ", ")), waiting in \(wchan), started at \(startTime ?? "?"))"
    }

    /// The fields of /proc/PID/stat after the command's name: the state first, the start time
    /// 20th.
    private static func stat(_ pid: pid_t) -> [Substring]? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let afterName = stat.lastIndex(of: ")")
        else { return nil }
        return stat[stat.index(after: afterName)...].split(separator: " ")
    }
}

/// The processes `pid` started, from every one of its threads.
func children(of pid: pid_t) -> [ChildProcess] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
    return tasks.flatMap { task in
        let listed = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/children", encoding: .utf8)) ?? ""
        return listed.split(separator: " ").compactMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }.map(ChildProcess.init)
}
