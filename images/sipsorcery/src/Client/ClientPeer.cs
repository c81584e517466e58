using Microsoft.Extensions.Logging;
using SIPSorcery.Net;

namespace InteropPeer.Client;

/// <summary>
/// One client RTCPeerConnection with its connection state turned into tasks: Connected
/// (state connected) and Failed (state failed, or closed without the test closing it).
/// </summary>
internal sealed class ClientPeer
{
    private readonly TaskCompletionSource connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<string> failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ILogger log;
    private volatile bool closing;

    public ClientPeer(CellEnv env, ILogger log)
    {
        this.log = log;
        Pc = PeerFactory.Create(env, log);
        Pc.onconnectionstatechange += OnConnectionState;
    }

    public RTCPeerConnection Pc { get; }
    public Task Connected => connected.Task;
    public Task<string> Failed => failed.Task;

    /// <summary>Closes the connection; its closed state is then not a failure.</summary>
    public void Close()
    {
        closing = true;
        try
        {
            // close() sends the SCTP SHUTDOWN and DTLS close_notify; never let it hang the verdict.
            Task.Run(() => Pc.close()).Wait(TimeSpan.FromSeconds(3));
        }
        catch (Exception e)
        {
            log.LogWarning("closing the peer connection threw {Error}", e.Message);
        }
    }

    private void OnConnectionState(RTCPeerConnectionState state)
    {
        log.LogInformation("peer connection state {State}", state);
        switch (state)
        {
            case RTCPeerConnectionState.connected:
                connected.TrySetResult();
                break;
            case RTCPeerConnectionState.failed:
                failed.TrySetResult("the peer connection failed");
                break;
            case RTCPeerConnectionState.closed when !closing:
                failed.TrySetResult("the peer connection closed");
                break;
        }
    }
}
