import Foundation
import Testing

@testable import BundleEnvironment

@Suite("environment specs: requirements, env_params, keys")
struct SpecTests {
    @Test("requirement lists meaning the same thing are equal: names, spaces, comments, order, duplicates")
    func normalised() {
        let one = RequirementList(["Scikit_Learn  >= 1.0", "# a comment", "", "numpy==2.0  # pinned", "numpy==2.0"])
        let other = RequirementList(["numpy==2.0", "scikit-learn >= 1.0"])
        #expect(one == other)
        #expect(one.lines == ["numpy==2.0", "scikit-learn >= 1.0"])
        #expect(one.names("SCIKIT.learn"))
        #expect(
            RequirementList(["pkg @ https://host/pkg.whl#sha256=ab"]).lines == ["pkg @ https://host/pkg.whl#sha256=ab"])
    }

    @Test("the bundle's pins win over the runtime's needs; the key depends on Python, runtime and requirements")
    func keys() throws {
        func spec(
            _ requirements: [String], python: String = "3.11.2", runtime: String = "0.1.0", source: String = "/a/.venv"
        ) throws -> EnvironmentSpec {
            try EnvironmentSpec(
                requirements: requirements, envParams: [:], framework: .check, pythonVersion: python,
                runtimeVersion: runtime, runtimeSource: source, bundle: "b")
        }
        let pinned = try spec(["cloudpickle==2.2.1", "tinypkg"])
        #expect(pinned.requirements.lines == ["cloudpickle==2.2.1", "pyyaml>=6", "tinypkg"])
        #expect(try spec(["tinypkg"]).requirements.lines == ["cloudpickle>=2.2", "pyyaml>=6", "tinypkg"])
        #expect(try spec(["TinyPkg", "# x"]).key == spec(["tinypkg"]).key)
        #expect(try spec(["tinypkg"]).key != spec(["tinypkg"], python: "3.11.3").key)
        #expect(try spec(["tinypkg"]).key != spec(["tinypkg"], runtime: "0.2.0").key)
        #expect(try spec(["tinypkg"]).key != spec(["tinypkg"], source: "/b/.venv").key)
        #expect(try spec(["tinypkg"]).key.count == 64)
    }

    @Test("env_params: an unknown framework_type is an error naming the field")
    func unknownFramework() {
        #expect {
            _ = try Framework.named(by: ["framework_type": "jax"], bundle: "b")
        } throws: { error in
            let text = "\(error)"
            return text.contains("'env_params.framework_type' is \"jax\"") && text.contains("\"pytorch\"")
        }
    }

    @Test("env_params: a framework the requirements do not name fails with --framework check, saying the command")
    func frameworkCheck() throws {
        #expect {
            _ = try EnvironmentSpec(
                requirements: ["tinypkg"],
                envParams: ["framework_type": "pytorch", "pytorch_image_tag": "1.7.1-cuda11.0"],
                framework: .check, pythonVersion: "3.11.2", runtimeVersion: "0.1.0", runtimeSource: "/a/.venv",
                bundle: "my-bundle")
        } throws: { error in
            "\(error)".contains("run `launch-worker prepare my-bundle --framework install` (adds torch==1.7.1)")
        }
        let named = try EnvironmentSpec(
            requirements: ["torch==2.0"], envParams: ["framework_type": "pytorch"], framework: .check,
            pythonVersion: "3.11.2", runtimeVersion: "0.1.0", runtimeSource: "/a/.venv", bundle: "b")
        #expect(named.requirements.lines.contains("torch==2.0"))
    }

    @Test("env_params: --framework install adds the framework pinned to env_params' version")
    func frameworkInstall() throws {
        let torch = try EnvironmentSpec(
            requirements: [],
            envParams: ["framework_type": "pytorch", "pytorch_image_tag": "1.7.1-cuda11.0-cudnn8-runtime"],
            framework: .install, pythonVersion: "3.11.2", runtimeVersion: "0.1.0", runtimeSource: "/a/.venv",
            bundle: "b")
        #expect(torch.requirements.lines.contains("torch==1.7.1"))
        let tensorflow = try EnvironmentSpec(
            requirements: [], envParams: ["framework_type": "tensorflow", "tensorflow_version": "2.3.0"],
            framework: .install, pythonVersion: "3.11.2", runtimeVersion: "0.1.0", runtimeSource: "/a/.venv",
            bundle: "b")
        #expect(tensorflow.requirements.lines.contains("tensorflow==2.3.0"))
        let custom = try EnvironmentSpec(
            requirements: [], envParams: ["framework_type": "custom_base_image"], framework: .check,
            pythonVersion: "3.11.2", runtimeVersion: "0.1.0", runtimeSource: "/a/.venv", bundle: "b")
        #expect(custom.framework == nil)
    }

    @Test("index settings: each installer gets the other's variables where it has none of its own")
    func indexSettings() {
        let environment = [
            "PIP_INDEX_URL": "https://pip.example/simple", "PIP_FIND_LINKS": "/a /b", "PIP_NO_INDEX": "1",
            "UV_EXTRA_INDEX_URL": "https://uv.example/simple",
        ]
        let pip = IndexSettings.pip(environment)
        let uv = IndexSettings.uv(environment)
        #expect(pip.arguments(besides: uv) == ["--find-links", "/a", "--find-links", "/b", "--no-index"])
        #expect(pip.indexVariables(prefix: "UV_", besides: uv) == ["UV_INDEX_URL": "https://pip.example/simple"])
        #expect(uv.arguments(besides: pip).isEmpty)
        #expect(uv.indexVariables(prefix: "PIP_", besides: pip) == ["PIP_EXTRA_INDEX_URL": "https://uv.example/simple"])
        #expect(
            IndexSettings.uv(["UV_FIND_LINKS": "/w1,/w2", "UV_NO_INDEX": "true"]).arguments(besides: IndexSettings())
                == ["--find-links", "/w1", "--find-links", "/w2", "--no-index"])
        #expect(
            IndexSettings(extraIndexURLs: ["https://a/simple", "https://b/simple"]).indexVariables(
                prefix: "PIP_", besides: IndexSettings()) == [
                    "PIP_EXTRA_INDEX_URL": "https://a/simple https://b/simple"
                ])
    }

    @Test("an index's URL reaches the installer as a variable, never on its command line (ps shows that)")
    func indexNotOnTheCommandLine() {
        let environment = ["PIP_EXTRA_INDEX_URL": "https://ci:token@index.example/simple", "HOME": "/home/me"]
        let uv = Installer.uv(URL(filePath: "/usr/bin/uv"))
        let command = uv.installCommand(
            folder: URL(filePath: "/env"), requirements: URL(filePath: "/env/req.txt"), environment: environment)
        #expect(!command.joined(separator: " ").contains("index"))
        let variables = uv.installEnvironment(environment)
        #expect(variables["UV_EXTRA_INDEX_URL"] == "https://ci:token@index.example/simple")
        #expect(variables["HOME"] == "/home/me" && variables["PIP_EXTRA_INDEX_URL"] != nil)
        // pip reads its own variable itself: nothing added.
        #expect(Installer.pip.installEnvironment(environment) == environment)
    }
}
