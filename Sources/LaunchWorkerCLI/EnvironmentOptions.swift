import ArgumentParser
import BundleEnvironment

/// Which environment `run`, `serve` and `bench` load a bundle in (`--environment`).
enum EnvironmentMode: ExpressibleByArgument, Equatable {
    /// The bundle's prepared environment when it has requirements, else the default one.
    case auto
    /// The default environment, whatever the bundle's requirements.
    case none
    /// This venv.
    case folder(String)

    init?(argument: String) {
        switch argument {
        case "auto": self = .auto
        case "none": self = .none
        case "": return nil
        default: self = .folder(argument)
        }
    }

    var defaultValueDescription: String { "auto" }
}

/// How a bundle's environment is built: `--framework`, `--installer`.
struct EnvironmentBuildOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            """
            What to do when env_params names a framework (pytorch, tensorflow) its requirements do not: \
            check (fail, saying the command to run) or install (add it, pinned to env_params' version).
            """, valueName: "check|install"))
    var framework: FrameworkPolicy = .check

    @Option(
        help: ArgumentHelp(
            "What builds environments: auto (uv when found, else python -m venv and pip), uv or pip.",
            valueName: "auto|uv|pip"))
    var installer: InstallerChoice = .auto
}

extension FrameworkPolicy: ExpressibleByArgument {}
extension InstallerChoice: ExpressibleByArgument {}
