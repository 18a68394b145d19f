namespace Snapfn.Fuzz;

/// <summary>
/// One fuzzing target: a harness that takes any bytes, feeds them to a parser or to the system-call layer, and
/// returns normally when the code under test accepted them or refused them the documented way. Anything else
/// escapes — an exception of another type, or a <see cref="InvariantViolatedException"/> the harness throws
/// itself — and that is a finding.
/// </summary>
public abstract class FuzzTarget
{
    /// <summary>The name `scripts/fuzz` and the corpus folder use.</summary>
    public abstract string Name { get; }

    /// <summary>One line: what the target feeds its bytes to.</summary>
    public abstract string Description { get; }

    /// <summary>Runs one input.</summary>
    public abstract void Run(ReadOnlySpan<byte> input);

    /// <summary>Seed inputs made by the project's own writers (serializers, Pack), for fuzz/corpus/&lt;target&gt;.</summary>
    public abstract IEnumerable<(string Name, byte[] Bytes)> Seeds();
}

/// <summary>The harness saw the code under test break a promise (a wrong exception message, memory it must not
/// touch changed, a host file reached): a finding, like any unexpected exception.</summary>
public sealed class InvariantViolatedException : Exception
{
    public InvariantViolatedException(string message) : base(message) { }

    public InvariantViolatedException() { }

    public InvariantViolatedException(string message, Exception innerException) : base(message, innerException) { }
}
