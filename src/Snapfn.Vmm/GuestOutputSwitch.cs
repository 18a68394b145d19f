namespace Snapfn.Vmm;

/// <summary>
/// A VM's output, pointed at whichever receiver serves the request it runs now. A VM's output sinks are fixed when it
/// is built (a Linux program's stdout is bound into its process), but a VM kept between requests (a warm VM) serves
/// many invocations: each points <see cref="Target"/> at its own receiver before it runs the guest. Null drops the bytes.
/// </summary>
public sealed class GuestOutputSwitch : IGuestOutput
{
    private volatile IGuestOutput? _target;

    public GuestOutputSwitch(IGuestOutput? target = null)
    {
        _target = target;
    }

    public IGuestOutput? Target
    {
        get => _target;
        set => _target = value;
    }

    public void Write(GuestOutputKind stream, ReadOnlySpan<byte> bytes) => _target?.Write(stream, bytes);

    /// <summary>The switch <paramref name="output"/> already is, or a new one pointed at it.</summary>
    public static GuestOutputSwitch Of(IGuestOutput? output) => output as GuestOutputSwitch ?? new GuestOutputSwitch(output);
}
