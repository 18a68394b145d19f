using Snapfn.Bench.Inputs;
using Snapfn.Cli;
using Snapfn.Cli.Commands;
using Snapfn.Platform;

namespace Snapfn.Daemon.Tests;

/// <summary>Issue 24: `snapfn bench --suite node` runs the JavaScript workloads, each a built-in Node.js function with
/// the C suite's inputs A and B, beside the python and c suites.</summary>
public sealed class BenchSuiteTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_node_suite_is_the_built_in_node_functions_with_inputs(bool quick)
    {
        var suite = BenchCommand.Suite("node", quick);
        Assert.Equal(["node-hello-world", "node-json"], suite);
        var catalog = FunctionCatalog.Default();
        foreach (var function in suite)
        {
            Assert.Equal(ScriptRuntime.Node, ScriptFunction.Language(catalog.Get(function).CodePath));
            Assert.True(WorkloadInputs.Has(catalog, function), function);
            Assert.Equal(WorkloadInputs.Get(catalog, function["node-".Length..], InputSet.B), WorkloadInputs.Get(catalog, function, InputSet.B));
        }
        Assert.Contains("py-json", BenchCommand.Suite("python", quick));
        Assert.Contains("node", Assert.Throws<UsageException>(() => BenchCommand.Suite("ruby", quick)).Message, StringComparison.Ordinal);
    }
}
