import ArgumentParser
import Foundation
import InputDownload
import WorkerCore

/// The options for downloading requests' `http(s)` url inputs, which `run` and `serve` share.
struct URLDownloadOptions: ParsableArguments {
    // 1 GiB: a url input exists to carry what is too large for a request body (100 MiB over
    // HTTP), and it is held in memory whole, twice while it becomes Python bytes, once per slot.
    @Option(
        name: .customLong("max-url-bytes"),
        help: ArgumentHelp("The largest url input, downloaded or local (larger: FAILURE).", valueName: "BYTES"))
    var maxURLBytes = 1 << 30

    @Option(
        name: .customLong("url-connect-timeout"),
        help: ArgumentHelp("How long connecting to a url input's server may take.", valueName: "SECONDS"))
    var urlConnectTimeout: Double = 10

    @Option(
        name: .customLong("url-read-timeout"),
        help: ArgumentHelp(
            "How long a url input's server may send nothing before the download fails.", valueName: "SECONDS"))
    var urlReadTimeout: Double = 30

    @Flag(
        name: .customLong("allow-private-urls"),
        help: "Download url inputs from loopback, link-local and private addresses too (refused by default).")
    var allowPrivateURLs = false

    func validate() throws {
        guard maxURLBytes > 0, urlConnectTimeout > 0, urlReadTimeout > 0 else {
            throw ValidationError("--max-url-bytes, --url-connect-timeout and --url-read-timeout must be positive")
        }
    }

    /// The download rules these options make.
    var rules: DownloadRules {
        DownloadRules(
            maxBytes: maxURLBytes, connectTimeout: .seconds(urlConnectTimeout), readTimeout: .seconds(urlReadTimeout),
            allowPrivateAddresses: allowPrivateURLs)
    }

    /// The policy of a front end whose producers are local (the spool, `run`): any local file.
    var localProducers: InputPolicy { .localProducers(download: rules) }
}

/// `serve`'s options for url inputs: the folders whose files requests from the network may name,
/// and the download options.
struct URLInputOptions: ParsableArguments {
    @Option(
        name: .customLong("url-root"),
        help: ArgumentHelp(
            "A folder whose files requests from HTTP and Redis may name as their url (repeatable); without one, they may name no local file.",
            valueName: "DIR"))
    var urlRoots: [String] = []

    @OptionGroup var download: URLDownloadOptions

    func validate() throws {
        do {
            _ = try networkPolicy()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The policy of a front end whose producers are local (the spool): any local file.
    var localProducers: InputPolicy { download.localProducers }

    /// The policy of a front end whose requests come from the network (HTTP, Redis): local files
    /// only inside the `--url-root` folders.
    func networkProducers() throws(CLIError) -> InputPolicy {
        do {
            return try networkPolicy()
        } catch {
            throw CLIError(message: error.description)
        }
    }

    private func networkPolicy() throws(InputPolicyError) -> InputPolicy {
        try .networkProducers(roots: urlRoots, download: download.rules)
    }
}
