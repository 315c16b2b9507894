"""The hub: channels in, conversation routing (bot ⇄ human), consoles and APIs out."""
