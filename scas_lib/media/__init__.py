"""Media adapters: ffmpeg and ffprobe."""
