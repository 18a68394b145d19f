namespace Snapfn.Linux.Files;

/// <summary>poll(2)'s event bits (asm-generic/poll.h); epoll's EPOLLIN, EPOLLOUT, ... have the same values.</summary>
public static class PollEvents
{
    public const int POLLIN = 0x1;
    public const int POLLPRI = 0x2;
    public const int POLLOUT = 0x4;
    public const int POLLERR = 0x8;
    public const int POLLHUP = 0x10;
    public const int POLLNVAL = 0x20;
    public const int POLLRDNORM = 0x40;
    public const int POLLRDBAND = 0x80;
    public const int POLLWRNORM = 0x100;
    public const int POLLWRBAND = 0x200;
    public const int POLLRDHUP = 0x2000;

    /// <summary>Linux's DEFAULT_POLLMASK: readable and writable without waiting.</summary>
    public const int Default = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

    public const int Readable = POLLIN | POLLRDNORM;

    public const int Writable = POLLOUT | POLLWRNORM;
}
