import os

from google import genai
from google.genai import types

client = genai.Client(api_key=os.environ["GOOGLE_API_KEY"])

chat = client.chats.create(
    model="gemini-2.5-flash-lite",
    config=types.GenerateContentConfig(system_instruction="Answer in one line."),
    history=[
        types.Content(role="user", parts=[types.Part(text="Hi, I am planning a trip.")]),
        types.Content(role="model", parts=[types.Part(text="Great, where to?")]),
    ],
)
print(chat.send_message("Somewhere warm in March.").text)
print(chat.send_message("And what should I pack?").text)
print(len(chat.get_history()))
