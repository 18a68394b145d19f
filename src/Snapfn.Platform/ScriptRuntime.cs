namespace Snapfn.Platform;

/// <summary>
/// A language whose functions are a folder of source run by Snapfn's shim for it (guest/&lt;shim folder&gt;) on a
/// runtime root of Debian packages: Python (main.py on python3) and Node.js (index.js on nodejs). Everything that
/// differs between them is here; the folder, its package, its program and its checks are one code path
/// (<see cref="ScriptFunction"/>, <see cref="FunctionPackage"/>, <see cref="GuestPrograms"/>).
/// </summary>
public sealed record ScriptRuntime
{
    /// <summary>snapfn.json's "runtime" and the root's name: python, node.</summary>
    public required string Name { get; init; }

    /// <summary>For messages: Python, Node.js.</summary>
    public required string Language { get; init; }

    /// <summary>The runtime root the functions run on, before the packages a function adds.</summary>
    public required Linux.Roots.Runtime Root { get; init; }

    /// <summary>The module the shim loads from the function's folder.</summary>
    public required string MainFile { get; init; }

    /// <summary>The interpreter's path in the root.</summary>
    public required string Program { get; init; }

    /// <summary>The interpreter's options before the shim's path.</summary>
    public required IReadOnlyList<string> Options { get; init; }

    /// <summary>The shim, in <see cref="ShimFolder"/>.</summary>
    public required string ShimFile { get; init; }

    /// <summary>The shim's folder in the guest SDK (guest/python, guest/node), and its mount point below /snapfn.</summary>
    public string ShimFolder => Name;

    public string ShimMount => "/snapfn/" + Name;

    /// <summary>The program's environment.</summary>
    public required IReadOnlyList<string> Environment { get; init; }

    /// <summary>A program text for the interpreter that compiles every source file below /function and prints the first
    /// error as "FILE line N: TYPE: MESSAGE" and exits 1 (<see cref="FunctionPackage.CheckSyntax"/>).</summary>
    public required string SyntaxCheck { get; init; }

    /// <summary>The interpreter's options that run <see cref="SyntaxCheck"/>'s text (-c, -e).</summary>
    public required IReadOnlyList<string> SyntaxCheckOptions { get; init; }

    /// <summary>What a new function folder's .gitignore holds.</summary>
    public required string Ignored { get; init; }

    /// <summary>Python 3.11, Debian's python3. Libraries that start a thread per core by default are told to use one:
    /// guests are single-threaded, and OpenBLAS, OpenMP and PyTorch then run on the calling thread.</summary>
    public static ScriptRuntime Python { get; } = new()
    {
        Name = "python", Language = "Python", Root = Linux.Roots.Runtimes.Python, MainFile = "main.py", Program = "/usr/bin/python3",
        // -B: the function's folder is read-only, so no __pycache__ is written there.
        Options = ["-B"], ShimFile = "snapfn_shim.py",
        Environment = [.. Linux.ProcessOptions.DefaultEnvironment, "OMP_NUM_THREADS=1", "OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1",
            "NUMEXPR_NUM_THREADS=1", "PYTHONHASHSEED=0"],
        SyntaxCheck = """
            import pathlib, sys
            for path in sorted(pathlib.Path('/function').rglob('*.py')):
                name = str(path.relative_to('/function'))
                try:
                    compile(path.read_bytes(), name, 'exec')
                except (SyntaxError, ValueError) as e:
                    line = getattr(e, 'lineno', None)
                    print(f"{name}{'' if line is None else f' line {line}'}: {type(e).__name__}: {getattr(e, 'msg', e)}")
                    sys.exit(1)
            """,
        SyntaxCheckOptions = ["-B", "-c"], Ignored = "__pycache__/\n",
    };

    /// <summary>Node.js 18, Debian's nodejs. One V8 worker thread: a guest has one vCPU, and every thread the
    /// platform starts is a thread in the snapshot.</summary>
    public static ScriptRuntime Node { get; } = new()
    {
        Name = "node", Language = "Node.js", Root = Linux.Roots.Runtimes.Node, MainFile = "index.js", Program = "/usr/bin/node",
        Options = ["--v8-pool-size=1"], ShimFile = "snapfn_shim.js",
        Environment = [.. Linux.ProcessOptions.DefaultEnvironment, "UV_THREADPOOL_SIZE=1"],
        // Each .js file compiled as CommonJS wraps it (so a top-level return is allowed), on its own lines.
        SyntaxCheck = """
            const fs = require('fs'), path = require('path'), vm = require('vm');
            const walk = (dir) => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
              e.isDirectory() ? (e.name === 'node_modules' ? [] : walk(path.join(dir, e.name))) : [path.join(dir, e.name)]);
            for (const file of walk('/function').filter((f) => f.endsWith('.js')).sort()) {
              const name = path.relative('/function', file);
              try {
                new vm.Script('(function (exports, require, module, __filename, __dirname) {' + fs.readFileSync(file, 'utf8') + '\n})', { filename: name });
              } catch (e) {
                const line = /^[^\n]*:(\d+)\n/.exec(String(e.stack));
                console.log(`${name}${line ? ` line ${line[1]}` : ''}: ${e.name}: ${e.message}`);
                process.exit(1);
              }
            }
            """,
        SyntaxCheckOptions = ["--v8-pool-size=1", "-e"], Ignored = "node_modules/\n",
    };

    public static IReadOnlyList<ScriptRuntime> All { get; } = [Python, Node];

    /// <summary>The runtime snapfn.json names, or null for another name (c, a misspelling).</summary>
    public static ScriptRuntime? Find(string? name) => All.FirstOrDefault(r => r.Name == name);

    /// <summary>"python or node", for messages.</summary>
    public static string Names(string separator = " or ") => string.Join(separator, All.Select(r => r.Name));

    public override string ToString() => Name;
}
