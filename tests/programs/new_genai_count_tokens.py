from google import genai

client = genai.Client()
print(client.models.count_tokens(model="gemini-2.5-flash-lite", contents="How many tokens is this sentence?").total_tokens)
print(client.models.count_tokens(model="gemini-2.5-flash-lite", contents=["first part", "second part"]).total_tokens)
