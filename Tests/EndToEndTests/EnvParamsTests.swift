import Foundation
import TestSupport
import Testing

@Suite("env_params checks")
struct EnvParamsTests {
    @Test("an unknown framework_type is an error naming the field, even for a bundle without requirements")
    func unknownFramework() async throws {
        let fixture = try EnvironmentFixture("unknown-framework")
        let bundle = try await fixture.makeBundle("jax", requirements: [], envParams: #"{"framework_type": "jax"}"#)
        let outcome = try await launchWorker(
            ["run", bundle, "--cache-dir", fixture.cache.path, "--args", #"{"who": "x"}"#],
            environment: fixture.environment())
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("field 'env_params.framework_type' is \"jax\""))
    }

    @Test(
        "pytorch without torch in the requirements: check fails with the command; install adds torch pinned to the tag")
    func frameworkCheckAndInstall() async throws {
        let fixture = try EnvironmentFixture("framework")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        // A tiny stand-in for torch, so installing it downloads nothing.
        try await fixture.makeWheel("torch", "1.7.1")
        try await fixture.makeWheel("torch", "2.0.0")
        let bundle = try await fixture.makeBundle(
            "torchless", requirements: ["tinypkg"],
            envParams: #"{"framework_type": "pytorch", "pytorch_image_tag": "1.7.1-cuda11.0-cudnn8-runtime"}"#)
        let checked = try await prepare(bundle, fixture)
        #expect(checked.status == 2)
        #expect(
            checked.stderr.contains("run `launch-worker prepare \(bundle) --framework install` (adds torch==1.7.1)"))
        #expect(fixture.readyEnvironments.isEmpty)

        let installed = try await prepare(bundle, fixture, ["--framework", "install", "--log"])
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.stdout.contains("+ torch==1.7.1"))
        #expect(
            installed.stdout.contains(
                "checking that launch_worker.loader, launch_worker.invoke, cloudpickle, yaml, torch import"))
    }

    @Test("tensorflow named in the requirements but not importable fails the check, naming the modules")
    func frameworkNotImportable() async throws {
        let fixture = try EnvironmentFixture("not-importable")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        // A distribution called tensorflow-cpu whose module is tensorflow_cpu: tensorflow does not import.
        try await fixture.makeWheel("tensorflow-cpu", "2.3.0")
        let bundle = try await fixture.makeBundle(
            "tf", requirements: ["tinypkg", "tensorflow-cpu"], envParams: #"{"framework_type": "tensorflow"}"#)
        let outcome = try await prepare(bundle, fixture)
        #expect(outcome.status == 2)
        #expect(outcome.stderr.contains("cannot import what the runtime and tensorflow needs"))
        #expect(outcome.stderr.contains("No module named 'tensorflow'"))
        #expect(fixture.readyEnvironments.isEmpty)
    }

    @Test("doctor --bundle checks the bundle's environment and asks its framework whether it sees CUDA")
    func doctorReportsCUDA() async throws {
        let fixture = try EnvironmentFixture("doctor")
        try await fixture.makeWheel("tinypkg", "1.0.0")
        let cuda = """
            class cuda:
                @staticmethod
                def is_available():
                    return False

                @staticmethod
                def device_count():
                    return 0
            """
        try await fixture.makeWheel("torch", "1.7.1", extraSource: cuda)
        let bundle = try await fixture.makeBundle("torchy", requirements: ["tinypkg", "torch"])
        let outcome = try await launchWorker(
            ["doctor", "--bundle", bundle, "--cache-dir", fixture.cache.path], environment: fixture.environment())
        #expect(outcome.status == 0, "\(outcome.stdout) \(outcome.stderr)")
        #expect(outcome.stdout.contains("(from the bundle's environment, built now)"))
        #expect(outcome.stdout.contains("ok       torch 1.7.1 (env_params.framework_type pytorch)"))
        #expect(outcome.stdout.contains("CUDA     available: False, devices: 0 (torch.cuda)"))
    }
}
