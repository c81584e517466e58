using Microsoft.Extensions.Logging;

namespace InteropPeer.Client;

/// <summary>The test failed; the message is the FAIL line's reason.</summary>
internal sealed class TestFailure : Exception
{
    public TestFailure(string reason) : base(reason) { }
}

/// <summary>This client cannot do the test (exit 127); the message says why.</summary>
internal sealed class TestUnsupported : Exception
{
    public TestUnsupported(string reason) : base(reason) { }
}

/// <summary>
/// What every client test needs: the environment, the signalling client, the deadline
/// (80 % of TEST_TIMEOUT, so the verdict is ours, not a kill), and the peers to close at
/// the end. <see cref="Expect{T}"/> turns every wait into a precise FAIL reason.
/// </summary>
internal sealed class ClientContext
{
    private readonly List<ClientPeer> peers = new();

    public ClientContext(CellEnv env, ILoggerFactory logs, CancellationToken deadline)
    {
        Env = env;
        Logs = logs;
        Log = logs.CreateLogger("client");
        Deadline = deadline;
        Signalling = new Signalling(Log);
    }

    public CellEnv Env { get; }
    public ILoggerFactory Logs { get; }
    public ILogger Log { get; }
    public CancellationToken Deadline { get; }
    public Signalling Signalling { get; }

    /// <summary>A new peer connection, closed at the end of the test whatever happens.</summary>
    public ClientPeer NewPeer()
    {
        var peer = new ClientPeer(Env, Log);
        peers.Add(peer);
        return peer;
    }

    /// <summary>
    /// Waits for <paramref name="task"/>; fails with "timed out waiting for ..." at the
    /// deadline, or with the peer's failure if its connection fails or closes first.
    /// </summary>
    public async Task<T> Expect<T>(Task<T> task, string what, ClientPeer? peer = null)
    {
        Task timeout = Task.Delay(Timeout.Infinite, Deadline);
        Task failed = peer?.Failed ?? Task.Delay(Timeout.Infinite, Deadline);
        Task done = await Task.WhenAny(task, failed, timeout);
        if (done == task)
        {
            try
            {
                return await task;
            }
            catch (OperationCanceledException) when (Deadline.IsCancellationRequested)
            {
                throw new TestFailure($"timed out after {Env.ClientBudget.TotalSeconds:0} s waiting for {what}");
            }
        }
        if (done == failed && peer is not null && peer.Failed.IsCompletedSuccessfully)
        {
            throw new TestFailure($"{await peer.Failed} while waiting for {what}");
        }
        throw new TestFailure($"timed out after {Env.ClientBudget.TotalSeconds:0} s waiting for {what}");
    }

    public Task Expect(Task task, string what, ClientPeer? peer = null) =>
        Expect(AsBool(task), what, peer);

    /// <summary>Closes every peer of the test, each bounded to a few seconds.</summary>
    public void CloseAll()
    {
        foreach (ClientPeer peer in peers)
        {
            peer.Close();
        }
    }

    private static async Task<bool> AsBool(Task task)
    {
        await task;
        return true;
    }
}
