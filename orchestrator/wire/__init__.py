"""What the wire says happened in a cell: the capture in, the evidence out (pure code).

packets.py reads the pcap, demux.py tells WebRTC's protocols apart, flows.py sorts the
traffic into the two directions between the peers, signalling.py reads the HTTP
signalling, decrypt.py turns tshark's view of decrypted SCTP into messages, rules.py
says what each test case must show, and verify.py holds the two together.
"""
