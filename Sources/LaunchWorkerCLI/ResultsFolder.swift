import Foundation

/// Where pickled results go when no option says.
enum ResultsFolder {
    /// `$XDG_CACHE_HOME/launch-worker/results`, or `~/.cache/launch-worker/results`.
    static var `default`: URL {
        let environment = ProcessInfo.processInfo.environment
        let cache =
            environment["XDG_CACHE_HOME"].map { URL(filePath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appending(path: ".cache")
        return cache.appending(path: "launch-worker/results")
    }
}
